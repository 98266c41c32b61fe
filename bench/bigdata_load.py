"""Loads bench/bigdata.py's synthetic fleet: binary COPY of the readings, rollups built set-based per month.

Readings are encoded straight into PostgreSQL's binary COPY format with numpy (every column has a fixed
width), so the client spends well under a microsecond per row and the server's COPY is the bound. The
readings' indexes are dropped for the load and built once at the end; a BRIN index on ts lets each local
month be rolled up (hourly, then daily and monthly from those hourly rows, in one statement) right after
it is written, while its pages are still in memory.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import psycopg

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
# shapes of sql/functions/rollups.sql (tds_merge_appended_all), for a window of whole local months.
ROLLUP_WINDOW = """
WITH hourly AS (
    INSERT INTO consumption_hourly (device_id, metric_id, bucket, account_id, consumption, min_value, max_value,
                                    sum_value, count, last_value, last_ts)
    SELECT device_id, metric_id, date_trunc('hour', ts, %(tz)s), max(account_id), sum(consumption), min(value),
           max(value), sum(value), count(*), (array_agg(value ORDER BY ts DESC))[1], max(ts)
    FROM readings WHERE ts >= %(start)s AND ts < %(end)s GROUP BY 1, 2, 3
    RETURNING *
), daily AS (
    INSERT INTO consumption_daily (device_id, metric_id, bucket, account_id, consumption, min_value, max_value,
                                   sum_value, count, last_value, last_ts)
    SELECT device_id, metric_id, date_trunc('day', bucket, %(tz)s), max(account_id), sum(consumption),
           min(min_value), max(max_value), sum(sum_value), sum(count)::integer,
           (array_agg(last_value ORDER BY last_ts DESC))[1], max(last_ts)
    FROM hourly GROUP BY 1, 2, 3
    RETURNING *
)
INSERT INTO consumption_monthly (device_id, metric_id, bucket, account_id, consumption, min_value, max_value,
                                 sum_value, count, last_value, last_ts)
SELECT device_id, metric_id, date_trunc('month', bucket, %(tz)s), max(account_id), sum(consumption),
       min(min_value), max(max_value), sum(sum_value), sum(count)::integer,
       (array_agg(last_value ORDER BY last_ts DESC))[1], max(last_ts)
FROM daily GROUP BY 1, 2, 3
"""

COPY = ("COPY readings (device_id, metric_id, ts, value, consumption, account_id, gateway_id, received_at)"
        " FROM STDIN (FORMAT BINARY)")
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # header, no flags, no extension
TRAILER = b"\xff\xff"
PG_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
_FIELDS = [("device_id", ">i8"), ("metric_id", ">i2"), ("ts", ">i8"), ("value", ">f8"), ("consumption", ">f8"),
           ("account_id", ">i8"), ("gateway_id", ">i8"), ("received_at", ">i8")]
ROW = np.dtype([("n", ">i2")] + [item for name, kind in _FIELDS for item in ((name + "_len", ">i4"), (name, kind))])
INSTANTS_PER_COPY = 96  # one day of 15-minute instants: 200,000 rows at 2,000 meters


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
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET maintenance_work_mem = '1GB'")
        for statement in filter(str.strip, FLEET.split(";")):
            conn.execute(statement, {"accounts": accounts, "gateways": gateways, "per_gateway": per_gateway})
        fleet = conn.execute(
            "SELECT d.id, 0.2 + 0.1 * (d.id % 7), d.account_id, d.gateway_id, m.id FROM devices d, metrics m"
            " WHERE m.name = 'energy_kwh' ORDER BY d.id").fetchall()
        table = np.array(fleet, dtype=[("id", "i8"), ("rate", "f8"), ("account_id", "i8"), ("gateway_id", "i8"),
                                       ("metric_id", "i2")])
        conn.execute("ALTER TABLE readings DROP CONSTRAINT readings_pkey")
        conn.execute("DROP INDEX readings_account_ts_idx")
        conn.execute("CREATE INDEX bench_readings_ts_brin ON readings USING brin (ts)")
        start_us = int((start - PG_EPOCH).total_seconds() * 1_000_000)
        step_us = int(step.total_seconds() * 1_000_000)
        copy_s = rollup_s = 0.0
        for low, high in month_windows(start, end, zone):
            first, last = -(-(low - start) // step), -(-(high - start) // step)  # instants in [low, high)
            began = time.monotonic()
            for chunk in range(first, last, INSTANTS_PER_COPY):
                with conn.cursor().copy(COPY) as copy:
                    copy.write(SIGNATURE)
                    copy.write(encode(table, chunk, min(INSTANTS_PER_COPY, last - chunk), start_us, step_us))
                    copy.write(TRAILER)
            conn.execute("SELECT brin_summarize_new_values('bench_readings_ts_brin')")
            copied = time.monotonic()
            conn.execute(ROLLUP_WINDOW, {"tz": zone.key, "start": low, "end": high})
            copy_s, rollup_s = copy_s + copied - began, rollup_s + time.monotonic() - copied
            log(f"  {low.astimezone(zone):%Y-%m}: {(last - first) * len(table):,} readings,"
                f" copy {copied - began:.0f} s, rollups {time.monotonic() - copied:.0f} s", flush=True)
        began = time.monotonic()
        build_fleet_rollups(conn)
        timings["copy_s"], timings["rollups_s"] = copy_s, rollup_s + time.monotonic() - began
        began = time.monotonic()
        conn.execute("DROP INDEX bench_readings_ts_brin")
        conn.execute("ALTER TABLE readings ADD PRIMARY KEY (device_id, metric_id, ts)")
        conn.execute("CREATE INDEX readings_account_ts_idx ON readings (account_id, ts DESC)")
        timings["indexes_s"] = time.monotonic() - began
        began = time.monotonic()
        conn.execute("VACUUM ANALYZE")
        timings["vacuum_analyze_s"] = time.monotonic() - began
        timings["readings"] = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    return timings


def build_fleet_rollups(conn: psycopg.Connection) -> None:
    """Fleet rollups (sql/080) from the device rollups, set-based, where that migration exists."""
    if conn.execute("SELECT to_regclass('fleet_hourly')").fetchone()[0] is None:
        return
    for level in ("hourly", "daily", "monthly"):  # fixed names
        conn.execute(
            f"INSERT INTO fleet_{level} (gateway_id, metric_id, bucket, account_id, consumption, count)"
            " SELECT d.gateway_id, c.metric_id, c.bucket, max(c.account_id), sum(c.consumption), sum(c.count)"
            f" FROM consumption_{level} c JOIN devices d ON d.id = c.device_id GROUP BY 1, 2, 3")


def database_size(dsn: str) -> dict:
    """Bytes on disk: the database, and the largest relations (tables with their indexes and TOAST)."""
    with psycopg.connect(dsn) as conn:
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        rows = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm')"
            " ORDER BY 2 DESC LIMIT 8").fetchall()
    return {"total": total, "relations": rows}
