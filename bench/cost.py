"""Cost reads on a big account: 13 months by month of a 1,000-device account, beside the explorer's kWh.

Loads one account's hourly rollups straight into a private embedded PostgreSQL (set-based SQL; reads are
measured, not ingest), builds daily and monthly rollups from them with the app's shapes, adds a Tarifa
Branca-like tariff (three ToU periods, tiers, a surcharge per month, a fee, a minimum, two taxes, and a
version starting mid-period), then times p50/p95 of:
  - the explorer's kWh data function, 13 months by month (fetch_explorer, compare off), all devices;
  - the cost /api/v1/cost and the overview compute (tariffs.service.cost_breakdown), same question;
  - the explorer's cost (explorer.cost.price_selection: per device and month), same question;
  - for contrast, the hour-by-hour engine (costs.engine_priced) on the first --engine-devices devices
    (on all 1,000 it would hold ~9.5 million hourly rows and ~50 million cost lines in memory).
Both cost paths are checked equal (total) on those devices before timing.
Usage: python bench/cost.py [--devices 1000] [--months 13] [--engine-devices 10] [--repeat 10]
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.common import bench_services, machine, percentile  # noqa: E402
from tds_dash import periods  # noqa: E402
from tds_dash.db import create_db_engine, session_scope  # noqa: E402
from tds_dash.migrate import apply_migrations, ensure_rollup_timezone  # noqa: E402
from tds_dash.queries import explorer  # noqa: E402
from tds_dash.queries.consumption import Selection  # noqa: E402
from tds_dash.queries.scope import ALL_ACCOUNTS  # noqa: E402
from tds_dash.tariffs import service  # noqa: E402

ZONE = "America/Sao_Paulo"
METRIC = "energy_kwh"

LOAD_FLEET = """
INSERT INTO accounts (slug, name) VALUES ('bench', 'Bench');
INSERT INTO gateways (account_id, serial, name)
SELECT a.id, 'BG-' || g, 'Gateway ' || g FROM accounts a, generate_series(1, %(gateways)s) g;
INSERT INTO devices (gateway_id, account_id, code, name, kind)
SELECT g.id, g.account_id, 'MED-' || d, 'Meter ' || d, 'energy_meter' FROM gateways g, generate_series(1, 100) d;
INSERT INTO device_metrics (device_id, metric_id, meter_kind, unit)
SELECT d.id, m.id, 'counter', 'kWh' FROM devices d, metrics m WHERE m.name = 'energy_kwh';
"""

# Every device-hour: a rate per device times a day curve (more in the evening), a quarter of a kWh step.
LOAD_HOURLY = """
INSERT INTO consumption_hourly (device_id, metric_id, bucket, account_id, consumption, min_value, max_value,
                                sum_value, count, last_value, last_ts)
SELECT d.id, m.id, h, d.account_id,
       (1 + d.id %% 7) * 0.25 * (1 + (extract(hour FROM h AT TIME ZONE 'America/Sao_Paulo')::int BETWEEN 17 AND 21)::int),
       0, 0, 0, 4, 0, h
FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 hour', interval '1 hour') h
CROSS JOIN devices d CROSS JOIN metrics m WHERE m.name = 'energy_kwh' ORDER BY h, d.id
"""

ROLLUP = """
INSERT INTO {target} (device_id, metric_id, bucket, account_id, consumption, min_value, max_value, sum_value,
                      count, last_value, last_ts)
SELECT device_id, metric_id, date_trunc('{unit}', bucket, %(tz)s), max(account_id), sum(consumption),
       min(min_value), max(max_value), sum(sum_value), sum(count)::integer, max(last_value), max(last_ts)
FROM {source} GROUP BY 1, 2, 3 ORDER BY 3, 1
"""


def load(dsn: str, devices: int, start: datetime, end: datetime) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        for statement in filter(str.strip, LOAD_FLEET.split(";")):
            conn.execute(statement, {"gateways": max(1, devices // 100)} if "%(gateways)s" in statement else None)
        day = start
        while day < end:  # a month per statement keeps each sort small
            last = min(end, day + timedelta(days=31))
            conn.execute(LOAD_HOURLY, {"start": day, "end": last})
            day = last
        for target, unit, source in (("consumption_daily", "day", "consumption_hourly"),
                                     ("consumption_monthly", "month", "consumption_daily")):
            conn.execute(ROLLUP.format(target=target, unit=unit, source=source), {"tz": ZONE})
        conn.execute("VACUUM ANALYZE")
        return conn.execute("SELECT count(*) FROM consumption_hourly").fetchone()[0]


def add_tariff(engine, account_id: int, first_month: date) -> None:
    """ToU (working-day peak 18–21 h, shoulder 17–18 h and 21–22 h), tiers, fee, minimum, ICMS and PIS/COFINS."""
    from tds_dash.tariffs.service import Actor

    admin = Actor(None, "bench", "admin")
    windows = {"ponta": [("working", 18, 21)], "intermediária": [("working", 17, 18), ("working", 21, 22)],
               "fora de ponta": [("working", 0, 17), ("working", 22, 24), ("saturday", 0, 24),
                                 ("sunday_holiday", 0, 24)]}

    def version(valid_from: date, scale: str) -> dict:
        prices = {"ponta": "1.20", "intermediária": "0.80", "fora de ponta": "0.50"}
        return {"valid_from": valid_from.isoformat(), "fixed_fee": "12.34", "minimum_charge": "40",
                "periods": [{"name": name, "price": f"{float(price) * float(scale):.4f}",
                             "windows": [{"day_type": k, "start": s, "end": e} for k, s, e in windows[name]]}
                            for name, price in prices.items()],
                "tiers": [{"up_to": "300", "price": "0"}, {"up_to": "1000", "price": "0.10"},
                          {"up_to": None, "price": "0.25"}],
                "taxes": [{"name": "ICMS", "rate": "18"}, {"name": "PIS/COFINS", "rate": "4.65"}]}
    with session_scope(engine) as conn:
        service.create_tariff(conn, ALL_ACCOUNTS, admin, account_id, METRIC, {"name": "Branca"})
        service.save_version(conn, ALL_ACCOUNTS, admin, account_id, METRIC, version(first_month, "1"))
        service.save_version(conn, ALL_ACCOUNTS, admin, account_id, METRIC,
                             version(periods.add_months(first_month, 6).replace(day=16), "1.1"))
        for i in range(14):
            month = periods.add_months(first_month, i)
            service.set_surcharge(conn, ALL_ACCOUNTS, admin, account_id, METRIC,
                                  {"month": f"{month:%Y-%m}", "value": ("0", "0.01885", "0.04463")[i % 3]})


def timed(fn, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 0.5), percentile(samples, 0.95)


def report(engine, account_id: int, period: periods.Period, engine_devices: int, devices: int, repeat: int) -> None:
    from tds_dash.consumption.explorer import cost as explorer_cost
    from tds_dash.tariffs import costs

    now, zone = period.end, period.zone
    with engine.connect() as conn:
        few = [row[0] for row in conn.execute(sa.text("SELECT id FROM devices ORDER BY id LIMIT :n"),
                                              {"n": engine_devices})]
        everyone = Selection()
        kwh = timed(lambda: explorer.fetch_explorer(conn, ALL_ACCOUNTS, everyone, METRIC, period, "month", False,
                                                    now), repeat)
        data = explorer.fetch_explorer(conn, ALL_ACCOUNTS, everyone, METRIC, period, "month", False, now)
        api = timed(lambda: service.cost_breakdown(conn, ALL_ACCOUNTS, account_id, METRIC, period.start, period.end,
                                                   "month", zone), repeat)
        view = timed(lambda: explorer_cost.price_selection(conn, ALL_ACCOUNTS, everyone, data, now), repeat)
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, account_id, METRIC)
        grouped = service.cost_breakdown(conn, ALL_ACCOUNTS, account_id, METRIC, period.start, period.end, "month",
                                         zone, few).total
        hourly = costs.engine_priced(conn, ALL_ACCOUNTS, tariff, period.start, period.end, zone, few)[1]
        assert grouped == sum(line.amount for line in hourly), "grouped and hour-by-hour costs differ"
        slow = timed(lambda: costs.engine_priced(conn, ALL_ACCOUNTS, tariff, period.start, period.end, zone, few),
                     max(2, repeat // 5))
    question = f"{period.first_day}..{period.last_day} by month"
    print("question | devices | p50 / p95 ms")
    print(f"explorer kWh (fetch_explorer), {question} | {devices} | {kwh[0]:.1f} / {kwh[1]:.1f}")
    print(f"cost_breakdown (/api/v1/cost, overview), same | {devices} | {api[0]:.1f} / {api[1]:.1f}")
    print(f"explorer cost (price_selection), same | {devices} | {view[0]:.1f} / {view[1]:.1f}")
    print(f"hour-by-hour engine (engine_priced), same | {engine_devices} | {slow[0]:.1f} / {slow[1]:.1f}"
          f" (x{devices / engine_devices:.0f} for {devices} devices: ~{slow[0] * devices / engine_devices / 1000:.0f} s)")
    print(f"equal totals on {engine_devices} devices: {grouped}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--engine-devices", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    zone = ZoneInfo(ZONE)
    today = periods.local_today(datetime.now(timezone.utc), zone)
    first_month = periods.add_months(today.replace(day=1), -args.months)
    period = periods.Period(first_month, today.replace(day=1) - timedelta(days=1), zone)  # whole months
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    with bench_services(mqtt=False) as services:
        apply_migrations(services.dsn)
        ensure_rollup_timezone(services.dsn, ZONE)
        started = time.monotonic()
        rows = load(services.dsn, args.devices, period.start, period.end)
        print(f"loaded {rows:,} hourly rows ({args.devices} devices, {args.months} months) in"
              f" {time.monotonic() - started:.0f} s")
        engine = create_db_engine(services.url)
        with engine.connect() as conn:
            account_id = conn.exec_driver_sql("SELECT id FROM accounts WHERE slug = 'bench'").scalar_one()
        add_tariff(engine, account_id, first_month)
        report(engine, account_id, period, min(args.engine_devices, args.devices), args.devices, args.repeat)


if __name__ == "__main__":
    main()
