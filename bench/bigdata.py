"""Read performance on big data: overview and explorer data callbacks over ~50 million readings.

Loads a synthetic fleet straight into a private embedded PostgreSQL (set-based SQL, not the ingest
path: this measures reads, and loading 50M readings through MQTT would take most of an hour), builds
the rollups with the same SQL shapes the app keeps current, then times the callbacks' data functions
(p50/p95 over --repeat runs) for 1 day, 1 month and 13 months, next to the same question answered
from raw readings.
Usage: python bench/bigdata.py [--devices 1000] [--days 520] [--interval-minutes 15] [--repeat 20]
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.common import bench_services, machine, percentile  # noqa: E402
from tds_dash.db import create_db_engine  # noqa: E402
from tds_dash.migrate import apply_migrations, ensure_rollup_timezone  # noqa: E402
from tds_dash.queries import overview  # noqa: E402
from tds_dash.queries.scope import ALL_ACCOUNTS  # noqa: E402

ZONE = "America/Sao_Paulo"

LOAD_FLEET = """
INSERT INTO accounts (slug, name) SELECT 'bench-' || a, 'Bench ' || a FROM generate_series(1, 10) a;
INSERT INTO gateways (account_id, serial, name)
SELECT a.id, 'BG-' || a.id || '-' || g, 'Gateway ' || g FROM accounts a, generate_series(1, %(gateways)s) g;
INSERT INTO devices (gateway_id, account_id, code, name, kind)
SELECT g.id, g.account_id, 'MED-' || d, 'Meter ' || d, 'energy_meter' FROM gateways g, generate_series(1, 10) d;
INSERT INTO device_metrics (device_id, metric_id, meter_kind, unit)
SELECT d.id, m.id, 'counter', 'kWh' FROM devices d, metrics m WHERE m.name = 'energy_kwh';
"""

# A counter rising at a steady per-device rate; consumption = increase since the previous reading.
# Loaded window by window in time order, as live ingest writes it (rows of one hour sit together).
LOAD_READINGS = """
INSERT INTO readings (device_id, metric_id, ts, value, consumption, account_id, gateway_id, received_at)
SELECT d.id, m.id, %(start)s::timestamptz + t.n * %(step)s::interval,
       d.id * 10 + t.n * (0.2 + 0.1 * (d.id %% 7)),
       CASE WHEN t.n = 0 THEN 0 ELSE 0.2 + 0.1 * (d.id %% 7) END,
       d.account_id, d.gateway_id, %(start)s::timestamptz + t.n * %(step)s::interval
FROM generate_series(%(first)s::integer, %(last)s::integer) t(n) CROSS JOIN devices d CROSS JOIN metrics m
WHERE m.name = 'energy_kwh'
ORDER BY t.n, d.id;
"""

ROLLUP = """
INSERT INTO {target} (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value,
                      count, last_value, last_ts)
SELECT device_id, metric_id, date_trunc('{unit}', {time_col}, %(tz)s), max(account_id), sum(consumption),
       min({min_col}), max({max_col}), sum({sum_col}), {count_expr}, max({last_col}), max({last_ts_col})
FROM {source} GROUP BY 1, 2, 3 ORDER BY 3, 1
"""

# The explorer's question (per device and bucket, this period and the previous one) from raw readings.
RAW_SERIES = sa.text(
    "SELECT device_id, date_trunc(:unit, ts, :tz) AS bucket, sum(consumption) FROM readings"
    " WHERE account_id IN (SELECT id FROM accounts) AND metric_id = (SELECT id FROM metrics WHERE name = 'energy_kwh')"
    " AND ts >= :start AND ts < :end GROUP BY 1, 2 ORDER BY 2")


def load(dsn: str, devices: int, days: int, interval_minutes: int) -> int:
    points = days * 24 * 60 // interval_minutes
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(days=days)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '512MB'")  # the one-off rollup build sorts tens of millions of rows
        for statement in filter(str.strip, LOAD_FLEET.split(";")):
            conn.execute(statement, {"gateways": max(1, devices // 100)} if "%(gateways)s" in statement else None)
        window = 20 * 24 * 60 // interval_minutes  # 20 days of points per statement
        for first in range(0, points, window):
            last = min(points, first + window) - 1
            conn.execute(LOAD_READINGS, {"start": start, "step": f"{interval_minutes} minutes",
                                         "first": first, "last": last})
            print(f"  loaded {last + 1}/{points} instants", flush=True)
        hourly = dict(target="consumption_hourly", unit="hour", time_col="ts", min_col="value", max_col="value",
                      sum_col="value", count_expr="count(*)", last_col="value", last_ts_col="ts", source="readings")
        daily = dict(target="consumption_daily", unit="day", time_col="bucket", min_col="min_value",
                     max_col="max_value", sum_col="sum_value", count_expr="sum(count)::integer", last_col="last_value",
                     last_ts_col="last_ts", source="consumption_hourly")
        monthly = dict(daily, target="consumption_monthly", unit="month", source="consumption_daily")
        for level in (hourly, daily, monthly):
            conn.execute(ROLLUP.format(**level), {"tz": ZONE})
        conn.execute("VACUUM ANALYZE")
        return conn.execute("SELECT count(*) FROM readings").fetchone()[0]


def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 0.5), percentile(samples, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=520)
    parser.add_argument("--interval-minutes", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    with bench_services(mqtt=False) as services:
        dsn, url = services.dsn, services.url
        apply_migrations(dsn)
        ensure_rollup_timezone(dsn, ZONE)
        started = time.monotonic()
        rows = load(dsn, args.devices, args.days, args.interval_minutes)
        print(f"loaded {rows:,} readings in {time.monotonic() - started:.0f} s")
        report(create_db_engine(url), args.repeat)


def report(engine, repeat: int) -> None:
    zone, now = ZoneInfo(ZONE), datetime.now(timezone.utc)
    print("question | from rollups p50 / p95 ms | from raw readings p50 / p95 ms | raw ÷ rollups (p50)")
    with engine.connect() as conn:
        def overview_call():
            overview.fetch_overview(conn, ALL_ACCOUNTS, now, zone)
        p50, p95 = timed(overview_call, repeat)
        print(f"overview (cards, 13 months, this month, latest 50) | {p50:.1f} / {p95:.1f} | — | —")
        for label, days, unit, granularity in (("1 day by hour", 1, "hour", "hour"),
                                               ("1 month by day", 30, "day", "day"),
                                               ("13 months by month", 395, "month", "month")):
            start = now - timedelta(days=days)
            rollup_fn = _explorer_call(conn, zone, start, now, granularity)
            def raw_fn(start=start, unit=unit, span=now - start):
                conn.execute(RAW_SERIES, {"unit": unit, "tz": ZONE, "start": start, "end": now}).all()
                conn.execute(RAW_SERIES, {"unit": unit, "tz": ZONE, "start": start - span, "end": start}).all()
            r50, r95 = timed(rollup_fn, repeat)
            w50, w95 = timed(raw_fn, max(3, repeat // 4))
            print(f"explorer {label} | {r50:.1f} / {r95:.1f} | {w50:.1f} / {w95:.1f} | {w50 / r50:.1f}×")


def _explorer_call(conn, zone, start, end, granularity):
    """The explorer's data function with the previous-period comparison on (its heaviest case)."""
    from tds_dash import periods
    from tds_dash.queries import explorer
    from tds_dash.queries.consumption import Selection

    today = periods.local_today(end, zone)
    days = round((end - start).total_seconds() / 86400)
    period = periods.Period(today - timedelta(days=days - 1), today, zone)
    return lambda: explorer.fetch_explorer(conn, ALL_ACCOUNTS, Selection(), "energy_kwh", period, granularity,
                                           True, end)


if __name__ == "__main__":
    main()
