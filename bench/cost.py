"""Cost reads on a big account: 13 months by month of a 1,000-device account, beside the explorer's kWh.

Loads one account's hourly rollups straight into a private embedded PostgreSQL (set-based SQL; reads are
measured, not ingest), builds daily and monthly rollups from them with the app's shapes, adds a Tarifa
Branca-like tariff (three ToU periods, tiers, a surcharge per month, a fee, a minimum, two taxes, and a
version starting mid-period), then prints p50/p95 of, each call in its own committed transaction:
  - the explorer's kWh data function, 13 months by month (fetch_explorer, compare off), all devices;
  - cost priced live (grouped pricing, no cache: main's path before the cache), --live-repeat calls;
  - the first cost call on an empty cache (it prices every device-month and writes the cache: the time
    to build it), then warm calls of /api/v1/cost and the overview (tariffs.service.cost_breakdown) and of
    the explorer (explorer.cost.price_selection: per device and month), same question;
  - the explorer's per-device rows as its path before (consumption_with_cost, a row per device-month);
  - the same question while its last month is still running (its last day at 14:30): that month alone
    priced live (the path before), the first call of the day (builds the month's prefix up to yesterday),
    then warm calls (prefix + today's hours) of cost_breakdown and of the explorer;
  - the overview's cost card (consumption.month_cost: this month so far, and up to the last whole hour, vs
    the same elapsed part of last month: an ended month cut inside, tariffs/cut_prefix.py), first and warm;
  - the running month read by cost_breakdown, the explorer and the card (a) with nothing changed between
    reads, (b) with 10 % of the devices' hour in progress changed between reads (an UPDATE of their hourly
    rows: the statement-level stamping triggers the rollup pass fires), (c) with the in-process today cache
    emptied before each read (tariffs/today_cache.py), each with the device-days it priced per call.
  - with the cost warm-up job (tds_dash/consumption/cost_warmup.py, when the code has it): (d) the first read
    after the job ran on an emptied today cache (a process after midnight or a tariff edit), the job itself,
    and once the first read of a new day after the job (the month's prefix stale: the job prices it).
Cached, prefix and live totals are checked equal before timing. CPU per call = this process + the database
backend (the engine keeps one connection). Load average printed at start and end.
--code DIR (repeatable) runs the same report, in the same run and on the same data, with DIR's tds_dash
(e.g. --code /work/main: before and after side by side), each code on emptied cost caches, this checkout last.
Usage: python bench/cost.py [--devices 1000] [--months 13] [--repeat 10] [--live-repeat 1] [--code DIR]
"""
from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
# --code runs the report again in a child process whose tds_dash is another checkout's (TDS_BENCH_CODE).
sys.path.insert(0, os.environ.get("TDS_BENCH_CODE") or str(ROOT))

import psycopg  # noqa: E402

from bench.common import bench_services, machine, percentile  # noqa: E402
from ingest.heap import tune_garbage_collector  # noqa: E402
from tds_dash import periods  # noqa: E402
from tds_dash.db import create_db_engine, session_scope  # noqa: E402
from tds_dash.migrate import apply_migrations, ensure_rollup_timezone  # noqa: E402
from tds_dash.queries import explorer  # noqa: E402
from tds_dash.queries.consumption import Selection  # noqa: E402
from tds_dash.queries.scope import ALL_ACCOUNTS  # noqa: E402
from tds_dash.tariffs import service  # noqa: E402

ZONE = "America/Sao_Paulo"
METRIC = "energy_kwh"
TICKS = os.sysconf("SC_CLK_TCK")

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


class Meter:
    """Wall-clock and CPU (this process + the database backend serving the engine's one connection) per call."""

    def __init__(self, engine) -> None:
        with engine.connect() as conn:
            self.backend = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()

    def backend_cpu(self) -> float:
        fields = Path(f"/proc/{self.backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def timed(self, fn, repeat: int, between=None) -> tuple[float, float, float]:
        """(p50, p95 wall ms, p50 CPU ms) over `repeat` calls; `between(i)` runs untimed before call i."""
        samples, cpu = [], []
        for i in range(repeat):
            if between is not None:
                between(i)
            started, client, server = time.perf_counter(), time.process_time(), self.backend_cpu()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - client + self.backend_cpu() - server) * 1000)
        return percentile(samples, 0.5), percentile(samples, 0.95), percentile(cpu, 0.5)


def report(engine, account_id: int, period: periods.Period, devices: int, repeat: int, live_repeat: int) -> None:
    from tds_dash.consumption.explorer import cost as explorer_cost
    from tds_dash.tariffs import costs, grouped

    now, zone, everyone = period.end + timedelta(days=1), period.zone, Selection()
    # The last month still running, on its last day at 14:30: its other days come from the prefix cache, the
    # last day's hours are priced on each call (the bench has every hour of that day: a day almost over).
    running = periods.local_midnight(period.last_day, zone) + timedelta(hours=14, minutes=30)
    meter = Meter(engine)

    def call(fn):
        with session_scope(engine) as conn:
            return fn(conn)

    def breakdown(conn, at=now):
        return service.cost_breakdown(conn, ALL_ACCOUNTS, account_id, METRIC, period.start, period.end, "month",
                                      zone, now=at)

    def explorer_data(conn, at=now):
        return explorer.fetch_explorer(conn, ALL_ACCOUNTS, everyone, METRIC, period, "month", False, at)

    def last_month_live(conn):  # the running month as main priced it: grouped pricing of all its hours
        tariff = service.get_tariff(conn, ALL_ACCOUNTS, account_id, METRIC)
        lo = periods.local_midnight(period.last_day.replace(day=1), zone)
        return costs.group_buckets(*grouped.grouped_lines(conn, ALL_ACCOUNTS, tariff, lo, period.end, lo, period.end,
                                                          "month", zone), "month", zone)

    rows = []
    kwh = meter.timed(lambda: call(explorer_data), repeat)
    rows.append((f"explorer kWh (fetch_explorer), {period.first_day}..{period.last_day} by month", kwh))
    data = call(explorer_data)
    live_total = [None]

    def live(conn):
        live_total[0] = breakdown(conn, period.start).total  # nothing over at period.start: no cache

    rows.append(("cost live, grouped, no cache (main's path before the cache), same", meter.timed(lambda: call(live),
                                                                                                 live_repeat)))
    started = time.perf_counter()
    cold_total = call(breakdown).total
    rows.append(("cost, first call on an empty cache (builds it)", ((time.perf_counter() - started) * 1000,)))
    assert cold_total == live_total[0] and call(breakdown).total == cold_total, "cached and live costs differ"
    rows.append(("cost_breakdown (/api/v1/cost, overview), cached", meter.timed(lambda: call(breakdown), repeat)))
    ids = call(lambda c: explorer_cost.selected_devices(c, ALL_ACCOUNTS, everyone))
    rows.append(("explorer per-device rows (consumption_with_cost: the explorer's path before), cached",
                 meter.timed(lambda: call(lambda c: service.consumption_with_cost(
                     c, ALL_ACCOUNTS, account_id, METRIC, period.start, period.end, "month", zone, ids, now)), repeat)))
    rows.append(("explorer cost (price_selection: summed in SQL), cached",
                 meter.timed(lambda: call(lambda c: explorer_cost.price_selection(c, ALL_ACCOUNTS, everyone, data,
                                                                                  now)), repeat)))
    rows.append(("running month alone priced live (main's path for it)",
                 meter.timed(lambda: call(last_month_live), max(1, live_repeat))))
    started = time.perf_counter()
    partly_total = call(lambda c: breakdown(c, running)).total
    rows.append(("cost_breakdown, last month running: first call of the day (builds its prefix)",
                 ((time.perf_counter() - started) * 1000,)))
    assert partly_total == cold_total, "prefix + today and whole-month pricing differ"
    rows.append(("cost_breakdown, last month running (prefix + today's hours), 12 cached",
                 meter.timed(lambda: call(lambda c: breakdown(c, running)), repeat)))
    running_data = call(lambda c: explorer_data(c, running))
    rows.append(("explorer cost (price_selection), last month running",
                 meter.timed(lambda: call(lambda c: explorer_cost.price_selection(c, ALL_ACCOUNTS, everyone,
                                                                                  running_data, running)), repeat)))
    from tds_dash.consumption import month_cost
    from tds_dash.tariffs import today_cache

    def card(conn):
        return month_cost.month_cost(conn, ALL_ACCOUNTS, METRIC, running, zone)

    started = time.perf_counter()
    first_card = call(card)
    rows.append(("overview cost card (month_cost: this month so far vs the same part of last month), first call",
                 ((time.perf_counter() - started) * 1000,)))
    # The card's "same part of last month" priced live (the path before), checked equal to the cut prefix's.
    previous, _, previous_cut = periods.compared_spans(periods.month_to_date(running, zone), running)
    previous_live = call(lambda c: service.cost_breakdown(c, ALL_ACCOUNTS, account_id, METRIC, previous.start,
                                                          previous_cut, "month", zone, now=previous.start)).total
    assert previous_live == first_card.previous, "cut prefix and live pricing of last month's part differ"
    ids_all = call(lambda c: [r[0] for r in c.exec_driver_sql("SELECT id FROM devices ORDER BY id").all()])
    hour = periods.floor_hour(running, zone)

    def touch(i):  # 10 % of the devices get today's hour in progress changed (the rollup pass's update)
        chosen = ids_all[(i % 10)::10]
        with session_scope(engine) as conn:  # a statement on consumption_hourly: its stamping triggers fire
            conn.exec_driver_sql("UPDATE consumption_hourly SET consumption = consumption + 0.25 WHERE bucket = %(h)s"
                                 " AND device_id = ANY(%(d)s)", {"h": hour, "d": chosen})

    def cold(_):
        today_cache.clear()

    for label, fn in (("cost_breakdown", lambda c: breakdown(c, running)),
                      ("explorer cost (price_selection)",
                       lambda c: explorer_cost.price_selection(c, ALL_ACCOUNTS, everyone, running_data, running)),
                      ("overview cost card (month_cost)", card)):
        call(fn)  # warm: the previous question's cold case left this one's entries out
        for case, between in (("(a) nothing changed", None), ("(b) 10 % of devices' today changed between reads",
                                                               touch), ("(c) today cache cold", cold)):
            before = dict(today_cache.stats)
            figures = meter.timed(lambda fn=fn: call(fn), repeat, between)
            per_call = (today_cache.stats["priced"] - before["priced"]) / repeat
            rows.append((f"running month, {label}, {case} [{per_call:,.0f} device-days priced per call]", figures))
    warm_up_rows(engine, meter, call, running, zone, repeat, rows,
                 (("cost_breakdown", lambda c: breakdown(c, running)),
                  ("explorer cost (price_selection)",
                   lambda c: explorer_cost.price_selection(c, ALL_ACCOUNTS, everyone, running_data, running)),
                  ("overview cost card (month_cost)", card)))
    print(f"card: current {first_card.current}, compared {first_card.compared}, previous {first_card.previous}"
          f" (live: {previous_live})")
    with engine.connect() as conn:
        cached = conn.exec_driver_sql("SELECT count(*), (SELECT count(*) FROM cost_month_lines),"
                                      " (SELECT count(*) FROM cost_month_prefix) FROM cost_months").one()
    print("question | devices | p50 / p95 ms | CPU ms p50 (client + database backend)")
    for name, figures in rows:
        wall = " / ".join(f"{v:,.1f}" for v in figures[:2])
        cpu = f"{figures[2]:,.0f}" if len(figures) > 2 else "—"
        print(f"{name} | {devices} | {wall} | {cpu}")
    print(f"cache: {cached[0]:,} device-months, {cached[1]:,} lines, {cached[2]:,} prefixes; equal totals cached,"
          f" prefix + today and live: {cold_total}")


def warm_up_rows(engine, meter, call, running, zone, repeat, rows, questions) -> None:
    """(d) rows: the first read after the warm-up job on an emptied today cache; the job; a new day's job."""
    try:
        from tds_dash.consumption.cost_warmup import CostWarmer
    except ImportError:  # --code of a checkout without the job
        return
    from tds_dash.tariffs import month_prefix, today_cache

    def warmed(_):
        today_cache.clear()
        CostWarmer(engine, zone).run(running)

    for label, fn in questions:
        read_priced = [0]

        def read(fn=fn, counter=read_priced):  # the read's own pricing, not the job's
            before = today_cache.stats["priced"]
            call(fn)
            counter[0] += today_cache.stats["priced"] - before

        figures = meter.timed(read, repeat, warmed)
        rows.append((f"running month, {label}, (d) first read after the warm-up job on an emptied today cache"
                     f" [{read_priced[0] / repeat:,.0f} device-days priced by the read]", figures))
    rows.append(("cost warm-up job (one account) on an emptied today cache",
                 meter.timed(lambda: CostWarmer(engine, zone).run(running), repeat, lambda _: today_cache.clear())))
    with session_scope(engine) as conn:  # a new day: every prefix up to yesterday is stale
        conn.exec_driver_sql("DELETE FROM cost_month_prefix")
    today_cache.clear()
    before = month_prefix.stats["priced"]
    rows.append(("cost warm-up job after a new day (prices the month's prefix and today), once",
                 meter.timed(lambda: CostWarmer(engine, zone).run(running), 1)))
    priced = month_prefix.stats["priced"] - before
    rows.append((f"overview cost card, first read of the new day after the job [{priced:,} prefixes priced by the"
                 f" job]", meter.timed(lambda: call(questions[-1][1]), 1)))


CACHES = ("cost_months", "cost_month_lines", "cost_month_sums", "cost_month_prefix", "cost_month_prefix_lines",
          "cost_cut_prefix", "cost_cut_prefix_lines")


def report_with(code: Path, services, account_id: int, args) -> None:
    """The report in a child process whose tds_dash is `code`'s, on emptied cost caches (same data)."""
    with psycopg.connect(services.dsn, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(CACHES)}")
    revision = subprocess.run(["git", "-C", str(code), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True).stdout.strip()
    print(f"\n### code: {code} ({revision})", flush=True)
    subprocess.run([sys.executable, __file__, "--report-url", services.url, "--account", str(account_id), "--devices",
                    str(args.devices), "--months", str(args.months), "--repeat", str(args.repeat), "--live-repeat",
                    str(args.live_repeat)], env={**os.environ, "TDS_BENCH_CODE": str(code), "PYTHONPATH": str(code)},
                   check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--live-repeat", type=int, default=1)
    parser.add_argument("--code", action="append", default=[], type=Path,
                        help="another checkout to measure too, same data (repeatable)")
    parser.add_argument("--report-url", help=argparse.SUPPRESS)  # the child of --code
    parser.add_argument("--account", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # The collector's thresholds of `python -m tds_dash run` (ingest/heap.py): with CPython's defaults a full
    # collection traversed the caches' tens of thousands of cost lines every third call or so (+60 ms).
    tune_garbage_collector()
    zone = ZoneInfo(ZONE)
    today = periods.local_today(datetime.now(timezone.utc), zone)
    first_month = periods.add_months(today.replace(day=1), -args.months)
    period = periods.Period(first_month, today.replace(day=1) - timedelta(days=1), zone)  # whole months
    if args.report_url:  # a child of --code: the data is loaded, the caches are empty
        print(f"start: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}", flush=True)
        engine = create_db_engine(args.report_url, pool_size=1, max_overflow=0)
        report(engine, args.account, period, args.devices, args.repeat, args.live_repeat)
        print(f"end: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}", flush=True)
        return
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")
    print(f"garbage collector thresholds {gc.get_threshold()} (the app's, ingest/heap.py)")
    with bench_services(mqtt=False) as services:
        apply_migrations(services.dsn)
        ensure_rollup_timezone(services.dsn, ZONE)
        started = time.monotonic()
        rows = load(services.dsn, args.devices, period.start, period.end)
        print(f"loaded {rows:,} hourly rows ({args.devices} devices, {args.months} months) in"
              f" {time.monotonic() - started:.0f} s")
        engine = create_db_engine(services.url, pool_size=1, max_overflow=0)  # one backend: its CPU is measured
        with engine.connect() as conn:
            account_id = conn.exec_driver_sql("SELECT id FROM accounts WHERE slug = 'bench'").scalar_one()
        add_tariff(engine, account_id, first_month)
        if args.code:
            engine.dispose()
            for code in [*args.code, ROOT]:
                report_with(code.resolve(), services, account_id, args)
        else:
            report(engine, account_id, period, args.devices, args.repeat, args.live_repeat)
    print(f"end: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
