"""What the cost cache's stamping triggers (sql/functions/cost_cache.sql) cost the rollup worker, per pass.

A fleet of --devices energy counters in a private embedded PostgreSQL; each pass inserts one reading per
device (the next minute) and runs the rollup worker's merge on every device's key in one transaction
(ingest.statements.refresh_rollups: tds_refresh_rollups, hourly/daily/monthly). Blocks of --block passes
alternate triggers on / off (ALTER TABLE … DISABLE TRIGGER), --blocks times, so a shared machine's load
falls on both alike. Prints per mode the wall-clock p50/p95 per pass and the database backend's CPU per
pass (utime + stime of its process from /proc, the same machine), the time spent inside the trigger
function itself (pg_stat_user_functions with track_functions = 'pl': exact, not a difference of two noisy
figures), and the load average.
Usage: python bench/stamp_cost.py [--devices 1000] [--block 1] [--blocks 40]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.common import bench_services, machine, percentile  # noqa: E402
from ingest import statements  # noqa: E402
from tds_dash.migrate import apply_migrations, ensure_rollup_timezone  # noqa: E402

ZONE = "America/Sao_Paulo"
TRIGGERS = ("ins", "upd", "del", "trunc")
TICKS = os.sysconf("SC_CLK_TCK")

FLEET = """
INSERT INTO accounts (slug, name) VALUES ('bench', 'Bench');
INSERT INTO gateways (account_id, serial, name)
SELECT a.id, 'BG-' || g, 'Gateway ' || g FROM accounts a, generate_series(1, %(gateways)s) g;
INSERT INTO devices (gateway_id, account_id, code, name, kind)
SELECT g.id, g.account_id, 'MED-' || d, 'Meter ' || d, 'energy_meter' FROM gateways g, generate_series(1, 100) d;
INSERT INTO device_metrics (device_id, metric_id, meter_kind, unit)
SELECT d.id, m.id, 'counter', 'kWh' FROM devices d, metrics m WHERE m.name = 'energy_kwh'
"""
READINGS = """
INSERT INTO readings (device_id, metric_id, ts, value, account_id, gateway_id)
SELECT d.id, m.id, %(ts)s, 1000 + d.id + %(step)s * 0.25, d.account_id, d.gateway_id
FROM devices d CROSS JOIN metrics m WHERE m.name = 'energy_kwh'
"""


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def set_triggers(conn: psycopg.Connection, on: bool) -> None:
    for name in TRIGGERS:
        conn.execute(f"ALTER TABLE consumption_hourly {'ENABLE' if on else 'DISABLE'} TRIGGER"
                     f" consumption_hourly_cost_{name}")
    conn.commit()


def one_pass(conn: psycopg.Connection, keys: list, ts: datetime, step: int, backend: int) -> tuple[float, float]:
    """(wall ms, backend CPU ms) of one reading per device + the merge of every device's key."""
    conn.execute(READINGS, {"ts": ts, "step": step})
    conn.commit()
    cpu, started = cpu_seconds(backend), time.perf_counter()
    with conn.transaction():
        statements.refresh_rollups(conn, [(d, m, ts) for d, m in keys], ZONE)
    return (time.perf_counter() - started) * 1000, (cpu_seconds(backend) - cpu) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--block", type=int, default=1)
    parser.add_argument("--blocks", type=int, default=40)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")
    samples: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    with bench_services(mqtt=False) as services:
        apply_migrations(services.dsn)
        ensure_rollup_timezone(services.dsn, ZONE)
        with psycopg.connect(services.dsn) as conn:
            for statement in filter(str.strip, FLEET.split(";")):
                conn.execute(statement, {"gateways": max(1, args.devices // 100)} if "%(" in statement else None)
            conn.commit()
            keys = conn.execute("SELECT device_id, metric_id FROM device_metrics ORDER BY 1").fetchall()
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            conn.execute("SET track_functions = 'pl'")
            start = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(days=1)
            step = 0
            for block in range(args.blocks * 2 + 1):  # block 0 warms up (first rows of every rollup level)
                on = block % 2 == 1
                set_triggers(conn, on)
                for _ in range(args.block):
                    step += 1
                    found = one_pass(conn, keys, start + timedelta(minutes=step), step, backend)
                    if block:
                        samples[on].append(found)
            stamps = conn.execute("SELECT (SELECT count(*) FROM cost_month_stamps),"
                                  " (SELECT count(*) FROM cost_day_stamps)").fetchone()
            conn.execute("SELECT pg_stat_force_next_flush()")
            conn.commit()
        time.sleep(2)
        with psycopg.connect(services.dsn) as conn:
            inside = conn.execute("SELECT calls, total_time FROM pg_stat_user_functions"
                                  " WHERE funcname = 'tds_stamp_cost_months'").fetchone() or (0, 0.0)
    print(f"{len(keys)} device keys per pass, {args.blocks} blocks of {args.block} passes per mode;"
          f" stamps kept: {stamps[0]} device-months, {stamps[1]} device-days")
    print("mode | wall p50 / p95 ms per pass | backend CPU mean ms per pass (10 ms clock ticks)")
    for on in (True, False):
        wall, cpu = [s[0] for s in samples[on]], [s[1] for s in samples[on]]
        print(f"stamping triggers {'on' if on else 'off'} | {percentile(wall, 0.5):.1f} / {percentile(wall, 0.95):.1f}"
              f" | {sum(cpu) / len(cpu):.1f}")
    passes = len(samples[True])  # the warm-up block runs with the triggers off
    print(f"inside the trigger function: {inside[0]} calls, {inside[1]:.1f} ms in all, {inside[1] / max(1, inside[0]):.2f}"
          f" ms per call; per pass with triggers on: {inside[1] / max(1, passes):.2f} ms")
    print(f"end: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
