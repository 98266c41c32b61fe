"""Loads bench/bigdata.py's synthetic fleet: binary COPY of the readings, rollups built set-based per month.

Readings are encoded straight into PostgreSQL's binary COPY format with numpy (every column has a fixed
width), so the client spends well under a microsecond per row and the server's COPY is the bound. The
readings' indexes are dropped for the load and built once at the end (both at the same time); a BRIN index
on ts lets each local month be rolled up (hourly, then daily and monthly from those hourly rows, and the fleet rollups of
each, in one statement) on other connections while the next month is copied, so both cores stay busy.
The hourly rollup's indexes are built at the end too.
"""
from __future__ import annotations

import queue
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import psycopg

from ingest.simulator.history import month_windows  # the demo history cuts its windows the same way

FLEET = """
INSERT INTO accounts (slug, name) SELECT 'bench-' || a, 'Bench ' || a FROM generate_series(1, %(accounts)s) a;
INSERT INTO gateways (account_id, serial, name)
SELECT a.id, 'BG-' || a.id || '-' || g, 'Gateway ' || g FROM accounts a, generate_series(1, %(gateways)s) g;
INSERT INTO devices (gateway_id, account_id, code, name, kind)
SELECT g.id, g.account_id, 'MED-' || g.id || '-' || d, 'Meter ' || d, 'energy_meter'
FROM gateways g, generate_series(1, %(per_gateway)s) d;
INSERT INTO device_metrics (device_id, metric_id, meter_kind, unit)
SELECT d.id, m.id, 'counter', 'kWh' FROM devices d, metrics m WHERE m.name = 'energy_kwh';
UPDATE gateways SET last_seen_at = now(), status = 'online'
"""

# Hourly from the month's readings, daily from those hourly rows, monthly from the daily ones: the
# shapes of sql/functions/rollups.sql (tds_merge_appended_all), for a window of whole local months; and
# the fleet rollups (sql/080: per gateway, the sum of its devices' rows) from each level in the same statement.
_DEVICE_COLUMNS = ("device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value, count,"
                   " last_value, last_ts")


def _coarser(level: str, unit: str, source: str) -> str:
    """A data-modifying CTE: the `unit` rollup (consumption_`level`) from the finer rows of CTE `source`."""
    return (f"{level} AS (INSERT INTO consumption_{level} ({_DEVICE_COLUMNS})"
            f" SELECT device_id, metric_id, date_trunc('{unit}', bucket, %(tz)s), max(account_id), sum(consumption),"
            " min(min_value), max(max_value), sum(sum_value), sum(count)::integer,"
            f" (array_agg(last_value ORDER BY last_ts DESC))[1], max(last_ts) FROM {source} GROUP BY 1, 2, 3"
            " RETURNING *)")


def _fleet(level: str, source: str) -> str:
    """fleet_`level` (per gateway: the sum of its devices' rows) from the rows of CTE `source`."""
    return (f"INSERT INTO fleet_{level} (gateway_id, metric_id, bucket, account_id, consumption, count)"
            " SELECT d.gateway_id, c.metric_id, c.bucket, max(c.account_id), sum(c.consumption), sum(c.count)"
            f" FROM {source} c JOIN devices d ON d.id = c.device_id GROUP BY 1, 2, 3")


ROLLUP_WINDOW = (
    f"WITH hourly AS (INSERT INTO consumption_hourly ({_DEVICE_COLUMNS})"
    " SELECT device_id, metric_id, date_trunc('hour', ts, %(tz)s), max(account_id), sum(consumption), min(value),"
    " max(value), sum(value), count(*), (array_agg(value ORDER BY ts DESC))[1], max(ts)"
    " FROM readings WHERE ts >= %(start)s AND ts < %(end)s GROUP BY 1, 2, 3 RETURNING *),"
    f" {_coarser('daily', 'day', 'hourly')}, {_coarser('monthly', 'month', 'daily')},"
    f" fleet_h AS ({_fleet('hourly', 'hourly')}), fleet_d AS ({_fleet('daily', 'daily')})"
    f" {_fleet('monthly', 'monthly')}"
)

# Built once after the load instead of row by row during it: (name, statement), two at a time.
INDEXES = (
    ("readings_pkey", "CREATE UNIQUE INDEX readings_pkey ON readings (device_id, metric_id, ts)"),
    ("consumption_hourly_pkey",
     "CREATE UNIQUE INDEX consumption_hourly_pkey ON consumption_hourly (device_id, metric_id, bucket)"),
    ("readings_account_ts_idx", "CREATE INDEX readings_account_ts_idx ON readings (account_id, ts DESC)"),
    ("consumption_hourly_account_idx",
     "CREATE INDEX consumption_hourly_account_idx ON consumption_hourly (account_id, bucket DESC)"),
)
ROLLUP_WORKERS = 2  # months roll up independently; with the COPY, they share the two cores

COPY = ("COPY readings (device_id, metric_id, ts, value, consumption, account_id, gateway_id, received_at)"
        " FROM STDIN (FORMAT BINARY)")
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # header, no flags, no extension
TRAILER = b"\xff\xff"
PG_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
_FIELDS = [("device_id", ">i8"), ("metric_id", ">i2"), ("ts", ">i8"), ("value", ">f8"), ("consumption", ">f8"),
           ("account_id", ">i8"), ("gateway_id", ">i8"), ("received_at", ">i8")]
ROW = np.dtype([("n", ">i2")] + [item for name, kind in _FIELDS for item in ((name + "_len", ">i4"), (name, kind))])
INSTANTS_PER_COPY = 96  # one day of 15-minute instants: 200,000 rows at 2,000 meters


def encode(devices: np.ndarray, first: int, count: int, start_us: int, step_us: int) -> bytes:
    """Rows for `count` instants from instant `first`, every device at each, in time order."""
    n = np.repeat(np.arange(first, first + count, dtype=np.int64), len(devices))
    ids = np.tile(devices["id"], count)
    rate = np.tile(devices["rate"], count)
    rows = np.zeros(len(n), dtype=ROW)
    rows["n"] = len(_FIELDS)
    for name, kind in _FIELDS:
        rows[name + "_len"] = np.dtype(kind).itemsize
    rows["device_id"], rows["metric_id"] = ids, devices["metric_id"][0]
    rows["ts"] = rows["received_at"] = start_us + n * step_us
    rows["value"] = ids * 10.0 + n * rate
    rows["consumption"] = np.where(n == 0, 0.0, rate)
    rows["account_id"], rows["gateway_id"] = np.tile(devices["account_id"], count), np.tile(devices["gateway_id"], count)
    return rows.tobytes()


def load(dsn: str, accounts: int, devices: int, days: int, interval_minutes: int, zone: ZoneInfo,
         log=print) -> dict:
    """The fleet and its readings; returns timings (seconds) and row counts."""
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    step = timedelta(minutes=interval_minutes)
    per_gateway = 10
    gateways = max(1, devices // accounts // per_gateway)
    timings: dict = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        _session(conn)
        for statement in filter(str.strip, FLEET.split(";")):
            conn.execute(statement, {"accounts": accounts, "gateways": gateways, "per_gateway": per_gateway})
        fleet = conn.execute(
            "SELECT d.id, 0.2 + 0.1 * (d.id % 7), d.account_id, d.gateway_id, m.id FROM devices d, metrics m"
            " WHERE m.name = 'energy_kwh' ORDER BY d.id").fetchall()
        table = np.array(fleet, dtype=[("id", "i8"), ("rate", "f8"), ("account_id", "i8"), ("gateway_id", "i8"),
                                       ("metric_id", "i2")])
        conn.execute("ALTER TABLE readings DROP CONSTRAINT readings_pkey")
        conn.execute("DROP INDEX readings_account_ts_idx")
        conn.execute("ALTER TABLE consumption_hourly DROP CONSTRAINT consumption_hourly_pkey")
        conn.execute("DROP INDEX consumption_hourly_account_idx")
        conn.execute("CREATE INDEX bench_readings_ts_brin ON readings USING brin (ts)")
        start_us = int((start - PG_EPOCH).total_seconds() * 1_000_000)
        step_us = int(step.total_seconds() * 1_000_000)
        windows = month_windows(start, end, zone)
        loading = time.monotonic()
        copy_s, rollup_s = _copy_and_roll_up(dsn, conn, windows, table, start, step, start_us, step_us, zone, log)
        timings["copy_s"], timings["rollups_s"] = copy_s, rollup_s
        timings["copy_rollups_wall_s"] = time.monotonic() - loading
        began = time.monotonic()
        conn.execute("DROP INDEX bench_readings_ts_brin")
        _build_indexes(dsn)
        timings["indexes_s"] = time.monotonic() - began
        began = time.monotonic()
        conn.execute("VACUUM ANALYZE")
        timings["vacuum_analyze_s"] = time.monotonic() - began
        timings["readings"] = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    return timings


def _copy_and_roll_up(dsn: str, conn: psycopg.Connection, windows, table, start: datetime, step: timedelta,
                      start_us: int, step_us: int, zone: ZoneInfo, log) -> tuple[float, float]:
    """COPY month after month on `conn` while ROLLUP_WORKERS other connections roll up the months written:
    each is one backend on one core, so they overlap (the seconds printed per month add up to more than
    the wall time). Returns the seconds spent copying and rolling up."""
    written: queue.Queue = queue.Queue()
    spent = {"copy": 0.0, "rollups": 0.0}
    failure: list[BaseException] = []

    def roll_up() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as rollups:
                _session(rollups)
                while (window := written.get()) is not None:
                    began = time.monotonic()
                    rollups.execute(ROLLUP_WINDOW, {"tz": zone.key, "start": window[0], "end": window[1]})
                    took = time.monotonic() - began
                    spent["rollups"] += took
                    log(f"  {window[0].astimezone(zone):%Y-%m}: rollups {took:.0f} s", flush=True)
        except BaseException as error:  # reported by the caller's thread
            failure.append(error)

    workers = [threading.Thread(target=roll_up, name=f"bench-rollups-{n}") for n in range(ROLLUP_WORKERS)]
    for worker in workers:
        worker.start()
    try:
        for low, high in windows:
            if failure:
                break
            first, last = -(-(low - start) // step), -(-(high - start) // step)  # instants in [low, high)
            began = time.monotonic()
            for chunk in range(first, last, INSTANTS_PER_COPY):
                with conn.cursor().copy(COPY) as copy:
                    copy.write(SIGNATURE)
                    copy.write(encode(table, chunk, min(INSTANTS_PER_COPY, last - chunk), start_us, step_us))
                    copy.write(TRAILER)
            conn.execute("SELECT brin_summarize_new_values('bench_readings_ts_brin')")
            took = time.monotonic() - began
            spent["copy"] += took
            log(f"  {low.astimezone(zone):%Y-%m}: {(last - first) * len(table):,} readings, copy {took:.0f} s",
                flush=True)
            written.put((low, high))
    finally:
        for _ in workers:
            written.put(None)
        for worker in workers:
            worker.join()
    if failure:
        raise failure[0]
    return spent["copy"], spent["rollups"]


def _session(conn: psycopg.Connection) -> None:
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET maintenance_work_mem = '1GB'")


def _build_indexes(dsn: str) -> None:
    """INDEXES, two at a time on two connections (CREATE INDEX takes a SHARE lock, which does not conflict
    with itself); the unique ones are then attached as the primary keys."""
    pending: queue.Queue = queue.Queue()
    for item in INDEXES:
        pending.put(item)

    def build() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            _session(conn)
            while True:
                try:
                    _, statement = pending.get_nowait()
                except queue.Empty:
                    return
                conn.execute(statement)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("readings", "consumption_hourly"):
            conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY USING INDEX {table}_pkey")


def database_size(dsn: str) -> dict:
    """Bytes on disk: the database, and the largest relations (tables with their indexes and TOAST)."""
    with psycopg.connect(dsn) as conn:
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')"
            " ORDER BY 2 DESC LIMIT 8").fetchall()
    return {"total": total, "relations": rows}
