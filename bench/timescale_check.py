"""Correctness, not speed: bench/bigdata.py's chart questions answered on plain PostgreSQL and on TimescaleDB.

The WASM TimescaleDB build (tests/timescale, PostgreSQL 17 + TimescaleDB 2.23 with continuous aggregates)
is far too slow to time anything, so this only checks that every chart data function bench/bigdata.py
times (overview, explorer 1 day / 1 month / 13 months × whole fleet / account / gateway / device ×
compare on/off, device page, gateway page) gives the same answer on both backends: a small fleet's
readings are written through the real ingest store (ingest.batch.BatchStore, as the app's writer does) in
the same batches to an embedded PostgreSQL and to the WASM TimescaleDB, the continuous aggregates are
refreshed as their policies would, and each answer is compared (numbers to 1e-9 relative).
Exit status 1 when any answer differs.

Usage: python bench/timescale_check.py [--devices 16] [--days 400] [--hours-between 24]
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import shutil
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
ZONE = ZoneInfo("America/Sao_Paulo")
# Set from the clock when each backend was written (the gateway's last message), not from the readings.
WALL_CLOCK_FIELDS = frozenset({"last_seen_at", "status_since", "created_at", "updated_at"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=16, help="meters: 4 accounts x 2 gateways x devices/8")
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--hours-between", type=int, default=24,
                        help="spacing of each meter's readings (the last 3 days: every hour)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tds_dash.background.embedded import EmbeddedPostgres  # noqa: PLC0415
    from tests.timescale_server import TimescaleServer  # noqa: PLC0415 -- the WASM server the tests use

    work = Path(tempfile.mkdtemp(prefix="tds-timescale-check-"))
    plain = EmbeddedPostgres(work / "pg")
    wasm = TimescaleServer(work).start()
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    try:
        batches = _batches(args.devices, args.days, args.hours_between, now)
        answers = {}
        for name, dsn in (("postgres", plain.dsn), ("timescale", wasm.dsn)):
            _prepare(dsn, args.devices)
            stored = _write(dsn, batches)
            if name == "timescale":
                _refresh(dsn)
            answers[name] = _answers(dsn, now)
            print(f"{name}: {stored:,} readings stored, {len(answers[name])} questions answered", flush=True)
        differing = _compare(answers["postgres"], answers["timescale"])
    finally:
        wasm.stop()
        plain.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(answers['postgres']) - differing} of {len(answers['postgres'])} answers the same on both backends")
    sys.exit(1 if differing else 0)


def _prepare(dsn: str, devices: int) -> None:
    import psycopg  # noqa: PLC0415

    from bench.bigdata_load import FLEET  # noqa: PLC0415
    from tds_dash.migrate import apply_migrations, ensure_rollup_timezone, ensure_timescale_policies  # noqa: PLC0415

    apply_migrations(dsn, timezone=ZONE.key)
    ensure_rollup_timezone(dsn, ZONE.key)
    ensure_timescale_policies(dsn, late_data_days=7)
    accounts, gateways = 4, 2
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in filter(str.strip, FLEET.split(";")):
            conn.execute(statement, {"accounts": accounts, "gateways": gateways,
                                     "per_gateway": max(1, devices // accounts // gateways)})


def _batches(devices: int, days: int, hours_between: int, now: datetime) -> list[list]:
    """The same envelopes for both backends: every meter's counter at each instant, one message per
    gateway and instant, 50 messages per batch (the fleet's names are bigdata_load.FLEET's)."""
    from ingest import payload as contract  # noqa: PLC0415
    from ingest.inbox import Envelope  # noqa: PLC0415

    accounts, gateways = 4, 2
    per_gateway = max(1, devices // accounts // gateways)
    step = timedelta(hours=hours_between)
    start = now.replace(minute=0) - timedelta(days=days)
    messages, at, n = [], start, 0
    while at < now:  # daily (or --hours-between) readings, hourly over the last 3 days
        gateway_id = 0
        for account in range(1, accounts + 1):
            for gateway in range(1, gateways + 1):
                gateway_id += 1
                readings = tuple(
                    contract.Reading(f"MED-{gateway_id}-{d}", "energy_kwh",
                                     round(1000.0 * gateway_id + d + n * (0.5 + 0.25 * (d % 3)), 3), at)
                    for d in range(1, per_gateway + 1))
                serial = f"BG-{account}-{gateway}"
                message = contract.TelemetryMessage(f"bench-{account}", serial, at, None, readings, ())
                messages.append(Envelope(f"tds/bench-{account}/{serial}/telemetry", b"", at, message=message))
        at, n = at + (step if at < now - timedelta(days=3) else timedelta(hours=1)), n + 1
    return [messages[i:i + 50] for i in range(0, len(messages), 50)]


def _write(dsn: str, batches: list[list]) -> int:
    import psycopg  # noqa: PLC0415

    from ingest import statements  # noqa: PLC0415
    from ingest.batch import BatchStore  # noqa: PLC0415

    store, stored = BatchStore(ZONE.key), 0  # rollups merged in the batch's transaction on plain PostgreSQL
    with psycopg.connect(dsn) as conn:
        statements.prepare_session(conn)
        for batch in batches:
            result = store.write(conn, batch)
            conn.commit()
            if result.rejected:
                raise SystemExit(f"rejected: {[(r.reason, r.detail) for r in result.rejected[:3]]}")
            stored += result.stored
    return stored


def _refresh(dsn: str) -> None:
    """What TimescaleDB's background workers would do (the WASM build has none): each refresh policy,
    in hierarchy order."""
    import psycopg  # noqa: PLC0415

    from tds_dash.migrate import ROLLUP_VIEWS  # noqa: PLC0415

    with psycopg.connect(dsn, autocommit=True) as conn:
        for view in ROLLUP_VIEWS:
            jobs = conn.execute("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name ="
                                " 'policy_refresh_continuous_aggregate' AND hypertable_name = %s", (view,)).fetchall()
            for (job,) in jobs:
                conn.execute("CALL run_job(%s)", (job,))


def _answers(dsn: str, now: datetime) -> dict[str, object]:
    from bench import bigdata_report  # noqa: PLC0415
    from tds_dash.db import create_db_engine  # noqa: PLC0415

    engine = create_db_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    answers = {}
    try:
        with engine.connect() as conn:
            ids = bigdata_report._pick(conn)
            for label, fn, _raw in bigdata_report._questions(conn, ids, now):
                if "figure from the store" not in label:  # figures are drawn from a store, not read
                    answers[label] = _plain(fn())
    finally:
        engine.dispose()  # the WASM server serves one connection at a time
    return answers


def _plain(value):
    """An answer as nested lists/dicts of numbers and strings (frames as records sorted for comparison)."""
    import pandas as pd  # noqa: PLC0415

    if dataclasses.is_dataclass(value):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, pd.DataFrame):
        records = [_plain(r) for r in value.astype(object).where(value.notna(), None).to_dict("records")]
        return sorted(records, key=repr)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _compare(plain: dict, timescale: dict) -> int:
    differing = 0
    for label, answer in plain.items():
        problem = _difference(answer, timescale.get(label), "")
        if problem:
            differing += 1
            print(f"DIFFERENT {label}: {problem}")
    return differing


def _difference(a, b, path: str) -> str | None:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or not math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9):
            return f"{path}: {a!r} != {b!r}"
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return f"{path}: keys {sorted(set(a) ^ set(b))}"
        return next((p for k in a if k not in WALL_CLOCK_FIELDS and (p := _difference(a[k], b[k], f"{path}.{k}"))),
                    None)
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} != {len(b)} items"
        return next((p for i, (x, y) in enumerate(zip(a, b)) if (p := _difference(x, y, f"{path}[{i}]"))), None)
    return None if a == b else f"{path}: {a!r} != {b!r}"


if __name__ == "__main__":
    main()
