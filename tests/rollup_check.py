"""Consumption test data and its plain reference computation, the ingest path used to write it, the
check that a database's rollups equal the reference, and the two backends (tests/test_timescale*.py).

Readings go in through ingest.batch.BatchStore.write on one psycopg connection, committed per batch
as the writer thread does: the real ingest path below MQTT.
"""
from __future__ import annotations

import dataclasses
import math
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg

from ingest import statements
from ingest.batch import BatchStore
from ingest.inbox import Envelope
from ingest.payload import Reading, TelemetryMessage
from tds_dash.migrate import ROLLUP_VIEWS, ensure_rollup_timezone
from tests.helpers import Database, unique_name

UTC = timezone.utc
LATE_DATA_DAYS = 7
METRICS = {"energy_kwh": "counter", "energy_delta_kwh": "delta", "temperature_c": "gauge"}
DEVICES = ("MED-001", "MED-002")
LEVELS = {"consumption_hourly": "hour", "consumption_daily": "day", "consumption_monthly": "month"}
COLUMNS = ("consumption", "count", "min_value", "max_value", "sum_value", "last_value", "last_ts")

# --------------------------------------------------------------------------- readings and their reference

@dataclasses.dataclass(frozen=True)
class Row:
    device: str
    metric: str
    ts: datetime
    value: float


def local(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def instants(zone: str, rng: random.Random) -> list[datetime]:
    """~1-hour steps with jitter over two stretches (a month end + spring forward; a month end + fall
    back), plus the instants the rules are about: 23:30 local on a month's last day, local midnight."""
    picked: set[datetime] = set()
    for start, end in ((local(zone, 2025, 2, 26), local(zone, 2025, 3, 11)),
                       (local(zone, 2025, 10, 30), local(zone, 2025, 11, 3, 12))):
        at = start
        while at < end:
            picked.add(at)
            at += timedelta(minutes=rng.randint(30, 90))
    month_ends = [local(zone, 2025, 2, 28, 23, 30), local(zone, 2025, 10, 31, 23, 30)]
    picked = {at for at in picked if not any(end < at < end + timedelta(minutes=30) for end in month_ends)}
    picked |= {*month_ends, local(zone, 2025, 3, 1)}
    # New York's repeated 01:30 (EDT, then EST) and the hour skipped in March; plain instants elsewhere.
    picked |= {datetime(2025, 11, 2, 5, 30, tzinfo=UTC), datetime(2025, 11, 2, 6, 30, tzinfo=UTC),
               datetime(2025, 3, 9, 6, 59, tzinfo=UTC), datetime(2025, 3, 9, 7, 0, tzinfo=UTC)}
    return sorted(picked)


def make_rows(zone: str, seed: int = 3, times: list[datetime] | None = None) -> list[Row]:
    """Counters only rise here (drops are the glitch/reset tests' business), deltas and gauges vary."""
    rng = random.Random(seed)
    rows = []
    times = times or instants(zone, rng)  # a gateway reads all its devices at once
    for device in DEVICES:
        counter = rng.uniform(100, 1000)
        for at in times:
            if device == DEVICES[1] and rng.random() < 0.15:
                continue  # gaps: the next reading's increase spans them
            counter = round(counter + rng.choice([0, rng.uniform(0, 4)]), 3)
            rows.append(Row(device, "energy_kwh", at, counter))
            rows.append(Row(device, "energy_delta_kwh", at, round(rng.uniform(0, 2), 3)))
            rows.append(Row(device, "temperature_c", at, round(rng.uniform(15, 30), 2)))
    return rows


def bucket_of(ts: datetime, unit: str, zone: str) -> datetime:
    """Start of the local hour/day/month containing ts (Python's zoneinfo, independent of the SQL)."""
    wall = ts.astimezone(ZoneInfo(zone))
    if unit == "hour":
        return wall.replace(minute=0, second=0, microsecond=0).astimezone(UTC)  # keeps fold: 01:00 EDT vs EST
    if unit == "day":
        return datetime(wall.year, wall.month, wall.day, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return datetime(wall.year, wall.month, 1, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def reference(rows: list[Row], unit: str, zone: str) -> dict[tuple, tuple]:
    """Plain computation of a rollup level: a counter's increase counts at the later reading."""
    series: dict[tuple, dict[datetime, float]] = {}
    for row in rows:
        series.setdefault((row.device, row.metric), {})[row.ts] = row.value  # duplicates are one reading
    out: dict[tuple, list] = {}
    for (device, metric), points in series.items():
        previous = None
        for ts in sorted(points):
            value = points[ts]
            kind = METRICS[metric]
            used = value if kind == "delta" else None if kind == "gauge" else \
                (0.0 if previous is None else max(value - previous, 0.0))
            previous = value
            key = (device, metric, bucket_of(ts, unit, zone))
            agg = out.setdefault(key, [None, 0, math.inf, -math.inf, 0.0, None, None])
            if used is not None:
                agg[0] = (agg[0] or 0.0) + used
            agg[1] += 1
            agg[2], agg[3], agg[4] = min(agg[2], value), max(agg[3], value), agg[4] + value
            agg[5], agg[6] = value, ts  # points are visited in time order
    return {key: tuple(agg) for key, agg in out.items()}


# --------------------------------------------------------------------------- ingest and checks

def provision(db: Database) -> tuple[str, str]:
    """An account and gateway of this test's own, with DEVICES: (account slug, gateway serial)."""
    slug, serial = unique_name("ts-"), unique_name("GW-")
    with db.connect() as conn:
        account = conn.execute("INSERT INTO accounts (slug, name) VALUES (%s, %s) RETURNING id",
                               (slug, slug)).fetchone()[0]
        gateway = conn.execute("INSERT INTO gateways (account_id, serial, name) VALUES (%s, %s, %s) RETURNING id",
                               (account, serial, serial)).fetchone()[0]
        for code in DEVICES:
            conn.execute("INSERT INTO devices (gateway_id, account_id, code, name) VALUES (%s, %s, %s, %s)",
                         (gateway, account, code, code))
    return slug, serial


def envelopes(rows: list[Row], slug: str, serial: str) -> list[Envelope]:
    """One message per instant with every reading of that instant, as a gateway sends them."""
    by_ts: dict[datetime, list[Reading]] = {}
    for row in rows:
        by_ts.setdefault(row.ts, []).append(Reading(row.device, row.metric, row.value, row.ts))
    return [Envelope(f"tds/{slug}/{serial}/telemetry", b"", ts,
                     message=TelemetryMessage(slug, serial, ts, None, tuple(readings), ()))
            for ts, readings in sorted(by_ts.items())]


def write(db: Database, zone: str, batches: list[list[Envelope]]) -> int:
    """Each batch through BatchStore.write and a commit on one connection, like the writer thread."""
    batch_store = BatchStore(zone, LATE_DATA_DAYS)
    stored = 0
    with psycopg.connect(db.dsn) as conn:
        statements.prepare_session(conn)
        for batch in batches:
            result = batch_store.write(conn, batch)
            conn.commit()
            assert not result.rejected, [(r.reason, r.detail) for r in result.rejected[:3]]
            stored += result.stored
    return stored


def in_batches(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def fetch(db: Database, view: str, serial: str) -> dict[tuple, tuple]:
    assert view in LEVELS  # a fixed name, never input
    rows = db.query(
        f"SELECT d.code, m.name, c.bucket, {', '.join('c.' + col for col in COLUMNS)} FROM {view} c"
        " JOIN devices d ON d.id = c.device_id JOIN gateways g ON g.id = d.gateway_id"
        " JOIN metrics m ON m.id = c.metric_id WHERE g.serial = %s", (serial,))
    return {(code, metric, bucket): tuple(values) for code, metric, bucket, *values in rows}


def same(actual: tuple, expected: tuple) -> bool:
    """Equal, floats to 1e-9 (sums add up in another order in SQL)."""
    return len(actual) == len(expected) and all(
        math.isclose(a, e, rel_tol=1e-9, abs_tol=1e-9) if isinstance(e, float) and isinstance(a, float) else a == e
        for a, e in zip(actual, expected))


def assert_rollups_match(db: Database, rows: list[Row], zone: str, serial: str) -> None:
    """Every level, every bucket, every column equal to the reference (floats to 1e-9); the gateway's
    fleet rollups equal to the sum of its device rollups."""
    for view, unit in LEVELS.items():
        expected, actual = reference(rows, unit, zone), fetch(db, view, serial)
        assert sorted(actual) == sorted(expected), f"{view}: buckets differ"
        wrong = [(key, actual[key], want) for key, want in sorted(expected.items()) if not same(actual[key], want)]
        assert not wrong, f"{view}: {len(wrong)} buckets differ, first: {wrong[:3]}"
    assert_fleet_matches(db, serial)


FLEET_LEVELS = {"consumption_hourly": "fleet_hourly", "consumption_daily": "fleet_daily",
                "consumption_monthly": "fleet_monthly"}


def fleet_reference(device_rows: dict[tuple, tuple]) -> dict[tuple, tuple]:
    """(metric, bucket) -> (consumption summed over devices, None when every device has None; count)."""
    out: dict[tuple, list] = {}
    for (_code, metric, bucket), values in device_rows.items():
        consumption, count = values[0], values[1]
        agg = out.setdefault((metric, bucket), [None, 0])
        if consumption is not None:
            agg[0] = (agg[0] or 0.0) + consumption
        agg[1] += count
    return {key: tuple(agg) for key, agg in out.items()}


def fetch_fleet(db: Database, view: str, serial: str) -> dict[tuple, tuple]:
    assert view in FLEET_LEVELS.values()  # a fixed name, never input
    rows = db.query(
        f"SELECT m.name, f.bucket, f.consumption, f.count, f.account_id = g.account_id FROM {view} f"
        " JOIN gateways g ON g.id = f.gateway_id JOIN metrics m ON m.id = f.metric_id WHERE g.serial = %s",
        (serial,))
    assert all(row[4] for row in rows), f"{view}: a row carries another account than its gateway's"
    return {(metric, bucket): (consumption, int(count)) for metric, bucket, consumption, count, _ in rows}


def assert_fleet_matches(db: Database, serial: str) -> None:
    """Each fleet level (sql/080, or sql/timescale/081) holds, per metric and bucket, the gateway's device
    rows summed: same buckets, consumption to 1e-9 (None where every device has None), counts exact."""
    for device_view, fleet_view in FLEET_LEVELS.items():
        expected, actual = fleet_reference(fetch(db, device_view, serial)), fetch_fleet(db, fleet_view, serial)
        assert sorted(actual) == sorted(expected), f"{fleet_view}: buckets differ"
        wrong = [(key, actual[key], want) for key, want in sorted(expected.items()) if not same(actual[key], want)]
        assert not wrong, f"{fleet_view}: {len(wrong)} buckets differ, first: {wrong[:3]}"


def between(rows: list[Row], rng: random.Random, newest: datetime, count: int) -> list[Row]:
    """MED-001 readings halfway between stored ones of the last 5 days (inside the late-data window)."""
    counter = sorted((row.ts, row.value) for row in rows
                     if row.device == "MED-001" and row.metric == "energy_kwh" and row.ts > newest - timedelta(days=5))
    picked = rng.sample(range(len(counter) - 1), count)
    late = []
    for i in picked:
        (t0, v0), (t1, v1) = counter[i], counter[i + 1]
        at = t0 + (t1 - t0) / 2
        late += [Row("MED-001", "energy_kwh", at, v0 + (v1 - v0) / 2),
                 Row("MED-001", "energy_delta_kwh", at, round(rng.uniform(0, 2), 3)),
                 Row("MED-001", "temperature_c", at, round(rng.uniform(15, 30), 2))]
    return late


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


# --------------------------------------------------------------------------- backends

@dataclasses.dataclass
class Backend:
    name: str
    db: Database

    def cut_in(self, zone: str) -> None:
        """Rollups cut in `zone`; on the shared Timescale database also an empty readings table, so
        each test starts from nothing (and the aggregates from a clean watermark)."""
        if self.name == "postgres":
            ensure_rollup_timezone(self.db.dsn, zone)
            return
        with self.db.connect() as conn:
            conn.execute("TRUNCATE readings")
            conn.execute("SELECT tds_rebuild_rollups(%s)", (zone,))

    def refresh(self) -> None:
        """What the background workers would do: run each refresh policy, in hierarchy order."""
        if self.name == "timescale":
            for view in ROLLUP_VIEWS:
                run_jobs(self.db, "policy_refresh_continuous_aggregate", view)


def run_jobs(db: Database, proc_name: str, relation: str) -> int:
    with db.connect() as conn:
        jobs = [row[0] for row in conn.execute(
            "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = %s AND hypertable_name = %s",
            (proc_name, relation))]
        for job in jobs:
            conn.execute("CALL run_job(%s)", (job,))
    return len(jobs)
