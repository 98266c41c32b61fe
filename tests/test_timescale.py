"""The TimescaleDB path of the rollups, tested against a real TimescaleDB, with the same consumption
assertions run on plain PostgreSQL so both paths are proven equal.

TimescaleDB is the WASM build in tests/timescale/ (PostgreSQL 17.5 + TimescaleDB 2.23 with continuous
aggregates, compression and policies; no background workers, so policies run through CALL run_job),
or the server in $TEST_TIMESCALE_URL. Readings go in through ingest.writer.BatchStore.write on one
psycopg connection, committed per batch as the writer thread does: that IS the real ingest path below
MQTT (the subscriber only decodes messages and queues them for it). The MQTT part is left out here
because the WASM server serves one connection at a time; tests/test_ingest_integration.py covers it.

Backends: "postgres" = a fresh embedded database per test (rollup tables kept by the writer);
"timescale" = one database per session, emptied and its aggregates recreated by each test.
"""
from __future__ import annotations

import dataclasses
import math
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg
import pytest

from ingest import store
from ingest.payload import Reading, TelemetryMessage
from ingest.writer import BatchStore, Envelope
from tds_dash.migrate import (ROLLUP_VIEWS, apply_migrations, ensure_rollup_timezone, ensure_timescale_policies,
                              file_directives, split_statements)
from tests.helpers import Database, sqlalchemy_url, unique_name

UTC = timezone.utc
SAO_PAULO = "America/Sao_Paulo"
NEW_YORK = "America/New_York"
LATE_DATA_DAYS = 7
METRICS = {"energy_kwh": "counter", "energy_delta_kwh": "delta", "temperature_c": "gauge"}
DEVICES = ("MED-001", "MED-002")
LEVELS = {"consumption_hourly": "hour", "consumption_daily": "day", "consumption_monthly": "month"}
COLUMNS = ("consumption", "count", "min_value", "max_value", "sum_value", "last_value", "last_ts")


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


@pytest.fixture(scope="module")
def timescale_db(timescale_dsn) -> Database:
    """The session's TimescaleDB, migrated as the app does at start (zone, then policies)."""
    apply_migrations(timescale_dsn, timezone=SAO_PAULO)
    ensure_rollup_timezone(timescale_dsn, SAO_PAULO)
    ensure_timescale_policies(timescale_dsn, LATE_DATA_DAYS)
    return Database(name="timescale", dsn=timescale_dsn, url=sqlalchemy_url(timescale_dsn))


@pytest.fixture(params=["postgres", "timescale"])
def backend(request) -> Backend:
    if request.param == "postgres":
        return Backend("postgres", request.getfixturevalue("database"))
    return Backend("timescale", request.getfixturevalue("timescale_db"))


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
    """~45-minute steps with jitter over two stretches (a month end + spring forward; a month end + fall
    back), plus the instants the rules are about: 23:30 local on a month's last day, local midnight."""
    picked: set[datetime] = set()
    for start, end in ((local(zone, 2025, 2, 26), local(zone, 2025, 3, 11)),
                       (local(zone, 2025, 10, 30), local(zone, 2025, 11, 3, 12))):
        at = start
        while at < end:
            picked.add(at)
            at += timedelta(minutes=rng.randint(20, 70))
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
        store.prepare_session(conn)
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
    """Every level, every bucket, every column equal to the reference (floats to 1e-9)."""
    for view, unit in LEVELS.items():
        expected, actual = reference(rows, unit, zone), fetch(db, view, serial)
        assert sorted(actual) == sorted(expected), f"{view}: buckets differ"
        wrong = [(key, actual[key], want) for key, want in sorted(expected.items()) if not same(actual[key], want)]
        assert not wrong, f"{view}: {len(wrong)} buckets differ, first: {wrong[:3]}"


# --------------------------------------------------------------------------- schema and policies

def test_tsdb001_migrations_make_hypertable_caggs_and_policies(timescale_db, database):
    names = {row[0] for row in timescale_db.query("SELECT name FROM schema_migrations")}
    assert {"003_timescale.sql", "timescale/020_rollup_views.sql", "timescale/021_readings_compression.sql"} <= names
    assert timescale_db.query(
        "SELECT column_name, time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'readings'"
    ) == [("ts", timedelta(days=1))]
    assert timescale_db.scalar(
        "SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'")

    aggregates = timescale_db.query(
        "SELECT ca.user_view_name, ca.materialized_only, parent.user_view_name"
        " FROM _timescaledb_catalog.continuous_agg ca"
        " LEFT JOIN _timescaledb_catalog.continuous_agg parent ON parent.mat_hypertable_id = ca.parent_mat_hypertable_id"
        " ORDER BY ca.user_view_name")
    assert aggregates == [("consumption_daily", False, "consumption_hourly"),
                          ("consumption_hourly", False, None),
                          ("consumption_monthly", False, "consumption_daily")]

    # Same column names and types as plain PostgreSQL's tables, in the same order.
    columns_sql = ("SELECT table_name, column_name, data_type FROM information_schema.columns"
                   " WHERE table_name LIKE 'consumption\\_%' ORDER BY table_name, ordinal_position")
    assert timescale_db.query(columns_sql) == database.query(columns_sql)
    assert database.scalar("SELECT string_agg(DISTINCT relkind::text, '') FROM pg_class"
                           " WHERE relname IN ('consumption_hourly', 'consumption_daily', 'consumption_monthly')") == "r"

    jobs = timescale_db.query(
        "SELECT proc_name, hypertable_name, config ->> 'start_offset', config ->> 'end_offset',"
        " config ->> 'compress_after', config ->> 'drop_after' FROM timescaledb_information.jobs"
        " WHERE proc_name LIKE 'policy_%' AND proc_name <> 'policy_job_stat_history_retention' ORDER BY 1, 2")
    assert jobs == [("policy_compression", "readings", None, None, "7 days", None),
                    ("policy_refresh_continuous_aggregate", "consumption_daily", None, "01:00:00", None, None),
                    ("policy_refresh_continuous_aggregate", "consumption_hourly", None, "01:00:00", None, None),
                    ("policy_refresh_continuous_aggregate", "consumption_monthly", None, "01:00:00", None, None)]
    # The writer's function is the Timescale one: consumption only, no rollup tables to merge into.
    assert "tds_merge_appended" not in timescale_db.scalar(
        "SELECT prosrc FROM pg_proc WHERE proname = 'tds_refresh_rollups'")
    assert apply_migrations(timescale_db.dsn) == []  # nothing left to apply, functions re-applied cleanly


# --------------------------------------------------------------------------- consumption on both backends

@pytest.mark.parametrize("zone", [SAO_PAULO, NEW_YORK])
def test_tsdb010_rollups_match_reference_before_and_after_refresh(backend, zone):
    backend.cut_in(zone)
    slug, serial = provision(backend.db)
    rows = make_rows(zone)
    first = [row for row in rows if row.ts < local(zone, 2025, 3, 5)]
    later = [row for row in rows if row.ts >= local(zone, 2025, 3, 5)]

    assert write(backend.db, zone, in_batches(envelopes(first, slug, serial), 25)) == len(first)
    assert_rollups_match(backend.db, first, zone, serial)  # Timescale: real-time aggregation only
    backend.refresh()
    assert_rollups_match(backend.db, first, zone, serial)  # materialized

    # More history: on Timescale it lands in buckets already materialized (the whole of March 2025 is
    # older than the refresh window's end, so its bucket was materialized with half its readings);
    # the next policy run picks it up from the invalidation log. Live readings: test_tsdb013.
    assert write(backend.db, zone, in_batches(envelopes(later, slug, serial), 25)) == len(later)
    backend.refresh()
    assert_rollups_match(backend.db, rows, zone, serial)

    # The attribution rule, spelled out: 23:30 on a month's last day is that month's last reading; the
    # reading at local midnight opens the next month's first hour.
    monthly = fetch(backend.db, "consumption_monthly", serial)
    hourly = fetch(backend.db, "consumption_hourly", serial)
    for month, last_day in ((2, 28), (10, 31)):
        assert monthly[("MED-001", "energy_kwh", local(zone, 2025, month, 1))][-1] == \
            local(zone, 2025, month, last_day, 23, 30)
    assert ("MED-001", "energy_kwh", local(zone, 2025, 3, 1)) in hourly


@pytest.mark.parametrize("zone", [SAO_PAULO, NEW_YORK])
def test_tsdb011_out_of_order_and_repeated_arrival_gives_the_same_totals(backend, zone):
    backend.cut_in(zone)
    slug, serial = provision(backend.db)
    rows = make_rows(zone, seed=11)
    rng = random.Random(5)
    # Shuffled within 2-day blocks (inside the 7-day late-data window), each block sent twice
    # (redeliveries), with refreshes in between so late readings land in materialized buckets.
    messages = envelopes(rows, slug, serial)
    blocks: dict[int, list[Envelope]] = {}
    for env in messages:
        blocks.setdefault(int(env.received_at.timestamp() // (2 * 86400)), []).append(env)
    for _, block in sorted(blocks.items()):
        shuffled = rng.sample(block, len(block))
        write(backend.db, zone, in_batches(shuffled, rng.randint(3, 30)))
        write(backend.db, zone, in_batches(rng.sample(block, len(block)), 50))
        if rng.random() < 0.5:
            backend.refresh()
    backend.refresh()
    assert_rollups_match(backend.db, rows, zone, serial)

    # Late readings between stored ones, in buckets already materialized: each changes its successor's
    # increase too (on Timescale an UPDATE the invalidation log records for the next refresh).
    late = between(rows, rng, newest=max(row.ts for row in rows), count=6)
    write(backend.db, zone, [envelopes(late, slug, serial)])
    rows += late
    backend.refresh()
    assert_rollups_match(backend.db, rows, zone, serial)
    assert backend.db.scalar("SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id"
                             " JOIN gateways g ON g.id = d.gateway_id WHERE g.serial = %s", (serial,)) == len(rows)


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


def test_tsdb012_zone_change_recuts_existing_rollups(backend):
    backend.cut_in(SAO_PAULO)
    slug, serial = provision(backend.db)
    rows = make_rows(NEW_YORK, seed=12)
    write(backend.db, SAO_PAULO, in_batches(envelopes(rows, slug, serial), 40))
    backend.refresh()
    assert_rollups_match(backend.db, rows, SAO_PAULO, serial)

    assert ensure_rollup_timezone(backend.db.dsn, NEW_YORK) is True  # what a TDS_TIMEZONE change does at start
    assert_rollups_match(backend.db, rows, NEW_YORK, serial)
    assert backend.db.scalar("SELECT timezone FROM rollup_settings") == NEW_YORK


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("zone", [SAO_PAULO, NEW_YORK])
def test_tsdb013_live_readings_show_before_any_refresh(backend, zone):
    """Readings of the last two days, then the newest hour after a refresh: on Timescale the newest
    buckets are past the refresh window (end_offset 1 hour), so real-time aggregation shows them at once."""
    backend.cut_in(zone)
    slug, serial = provision(backend.db)
    started = datetime.now(UTC)
    times = [started - timedelta(minutes=13 * i) for i in range(220)][::-1]
    rows = make_rows(zone, seed=13, times=times)
    split = floor_hour(started) - timedelta(hours=1)  # at or after every bucket a refresh can materialize
    older = [row for row in rows if row.ts < split]
    newest = [row for row in rows if row.ts >= split]
    write(backend.db, zone, in_batches(envelopes(older, slug, serial), 40))
    backend.refresh()
    write(backend.db, zone, in_batches(envelopes(newest, slug, serial), 40))
    if floor_hour(datetime.now(UTC)) == floor_hour(started):  # else the refresh ran in the next hour
        assert_rollups_match(backend.db, rows, zone, serial)
    backend.refresh()
    assert_rollups_match(backend.db, rows, zone, serial)


# --------------------------------------------------------------------------- TimescaleDB only

def _readings_on(db: Database, serial: str) -> int:
    return db.scalar("SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id"
                     " JOIN gateways g ON g.id = d.gateway_id WHERE g.serial = %s", (serial,))


def test_tsdb020_compression_policy_compresses_old_chunks_and_keeps_totals(timescale_db):
    backend = Backend("timescale", timescale_db)
    backend.cut_in(SAO_PAULO)
    slug, serial = provision(timescale_db)
    rows = make_rows(SAO_PAULO, seed=20)
    write(timescale_db, SAO_PAULO, in_batches(envelopes(rows, slug, serial), 40))
    backend.refresh()

    assert run_jobs(timescale_db, "policy_compression", "readings") == 1
    chunks = timescale_db.query(
        "SELECT is_compressed, count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'"
        " GROUP BY 1")
    assert dict(chunks).get(True, 0) > 0 and dict(chunks).get(False, 0) == 0  # all of 2025 is past 7 days
    assert_rollups_match(timescale_db, rows, SAO_PAULO, serial)
    assert _readings_on(timescale_db, serial) == len(rows)

    # Rebuilding the aggregates reads the compressed chunks back.
    with timescale_db.connect() as conn:
        conn.execute("SELECT tds_rebuild_rollups(%s)", (SAO_PAULO,))
    assert_rollups_match(timescale_db, rows, SAO_PAULO, serial)  # real-time over compressed raw data
    backend.refresh()
    assert_rollups_match(timescale_db, rows, SAO_PAULO, serial)


def test_tsdb021_retention_policy_drops_raw_chunks_and_rollups_keep_totals(timescale_db):
    backend = Backend("timescale", timescale_db)
    backend.cut_in(SAO_PAULO)
    slug, serial = provision(timescale_db)
    rows = make_rows(SAO_PAULO, seed=21)
    write(timescale_db, SAO_PAULO, in_batches(envelopes(rows, slug, serial), 40))
    backend.refresh()
    try:
        assert ensure_timescale_policies(timescale_db.dsn, LATE_DATA_DAYS, 30) is True
        assert _hourly_refresh_start(timescale_db) == "30 days"  # never refreshes what retention drops
        assert run_jobs(timescale_db, "policy_retention", "readings") == 1
        assert _readings_on(timescale_db, serial) == 0  # 2025 is older than 30 days
        assert_rollups_match(timescale_db, rows, SAO_PAULO, serial)
        backend.refresh()  # the dropped range is logged as invalid; the refresh must not reach it
        assert_rollups_match(timescale_db, rows, SAO_PAULO, serial)
    finally:
        ensure_timescale_policies(timescale_db.dsn, LATE_DATA_DAYS)
    assert run_jobs(timescale_db, "policy_retention", "readings") == 0  # unset again: no retention
    assert _hourly_refresh_start(timescale_db) == "30 days"  # ...but the dropped range stays out of reach
    backend.refresh()
    assert_rollups_match(timescale_db, rows, SAO_PAULO, serial)


def _hourly_refresh_start(db: Database) -> str | None:
    return db.scalar("SELECT config ->> 'start_offset' FROM timescaledb_information.jobs"
                     " WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = 'consumption_hourly'")


def test_tsdb022_bad_zone_or_policy_is_refused_and_changes_nothing(timescale_db):
    with timescale_db.connect() as conn:
        conn.execute("SELECT tds_rebuild_rollups(%s)", (SAO_PAULO,))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="unknown time zone: Mars/Olympus"):
            conn.execute("SELECT tds_rebuild_rollups(%s)", ("Mars/Olympus",))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="must be longer than the late-data window"):
            conn.execute("SELECT tds_timescale_policies(7, 7)")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="at least 1 day"):
            conn.execute("SELECT tds_timescale_policies(0, NULL)")
    assert timescale_db.scalar("SELECT timezone FROM rollup_settings") == SAO_PAULO
    assert timescale_db.scalar("SELECT count(*) FROM timescaledb_information.continuous_aggregates") == 3
    assert "Sao_Paulo" in timescale_db.scalar(
        "SELECT view_definition FROM timescaledb_information.continuous_aggregates WHERE view_name = 'consumption_daily'")


# --------------------------------------------------------------------------- migrate.py mechanisms (plain PostgreSQL)

def test_tsdb030_plain_postgres_never_reads_sql_timescale(empty_database, tmp_path):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE ok_table (id int);")
    (tmp_path / "timescale" / "functions").mkdir(parents=True)
    (tmp_path / "timescale" / "020_caggs.sql").write_text("SELECT this_would_fail();")
    (tmp_path / "timescale" / "functions" / "f.sql").write_text("SELECT this_would_fail_too();")

    assert apply_migrations(empty_database.dsn, sql_dir=tmp_path) == ["001_ok.sql"]
    assert ensure_timescale_policies(empty_database.dsn, LATE_DATA_DAYS) is False


def test_tsdb031_no_transaction_and_parameters_directives(empty_database, tmp_path):
    (tmp_path / "001_concurrently.sql").write_text(
        "-- migrate: no-transaction\n-- banner: CREATE INDEX CONCURRENTLY refuses to run in a transaction\n"
        "CREATE TABLE IF NOT EXISTS notes (id int, body text);\n"
        "DO $$ BEGIN PERFORM 1; PERFORM ';'; END $$;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS notes_id_idx ON notes (id);\n")
    hostile = "x'); DROP TABLE notes; --"
    (tmp_path / "002_zone.sql").write_text(
        "-- migrate: parameters\nINSERT INTO notes (id, body) VALUES (1, {timezone});"
        " SELECT '{{not a placeholder}}';")

    assert apply_migrations(empty_database.dsn, sql_dir=tmp_path, timezone=hostile) == [
        "001_concurrently.sql", "002_zone.sql"]
    assert empty_database.query("SELECT id, body FROM notes") == [(1, hostile)]  # bound, not pasted
    assert empty_database.scalar("SELECT indisvalid FROM pg_index WHERE indexrelid = 'notes_id_idx'::regclass")


def test_tsdb032_bad_directive_placeholder_or_failing_statement_is_a_clear_error(empty_database, tmp_path):
    (tmp_path / "001_typo.sql").write_text("-- migrate: no-transactoin\nSELECT 1;")
    with pytest.raises(ValueError, match="unknown migrate directive.*no-transactoin"):
        apply_migrations(empty_database.dsn, sql_dir=tmp_path)

    (tmp_path / "001_typo.sql").write_text("-- migrate: parameters\nSELECT {time_zone};")
    with pytest.raises(ValueError, match="bad placeholder.*time_zone"):
        apply_migrations(empty_database.dsn, sql_dir=tmp_path)

    # A no-transaction file failing half-way: not recorded; what ran stays; a fixed file runs again.
    (tmp_path / "001_typo.sql").write_text(
        "-- migrate: no-transaction\nCREATE TABLE IF NOT EXISTS half (id int);\nSELECT no_such_column FROM half;")
    with pytest.raises(psycopg.errors.UndefinedColumn):
        apply_migrations(empty_database.dsn, sql_dir=tmp_path)
    assert empty_database.scalar("SELECT count(*) FROM schema_migrations") == 0
    assert empty_database.scalar("SELECT to_regclass('half') IS NOT NULL")
    (tmp_path / "001_typo.sql").write_text(
        "-- migrate: no-transaction\nCREATE TABLE IF NOT EXISTS half (id int);\nSELECT id FROM half;")
    assert apply_migrations(empty_database.dsn, sql_dir=tmp_path) == ["001_typo.sql"]


@pytest.mark.parametrize(("text", "statements"), [
    ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
    ("SELECT ';' AS a; SELECT 'it''s;'", ["SELECT ';' AS a", "SELECT 'it''s;'"]),
    ('SELECT 1 AS "a;b"; -- trailing; comment\n', ['SELECT 1 AS "a;b"']),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$; SELECT f();",
     ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$", "SELECT f()"]),
    ("DO $$ BEGIN PERFORM 1; END $$; /* a; block */ SELECT 2", ["DO $$ BEGIN PERFORM 1; END $$", "/* a; block */ SELECT 2"]),
    ("-- only a comment;\n", []),
    ("SELECT $1::int; SELECT 2", ["SELECT $1::int", "SELECT 2"]),
])
def test_tsdb033_split_statements_respects_quotes_dollar_quotes_and_comments(text, statements):
    assert split_statements(text) == statements


def test_tsdb034_split_statements_rejects_an_unterminated_dollar_quote():
    with pytest.raises(ValueError, match="unterminated dollar quote"):
        split_statements("DO $body$ BEGIN PERFORM 1; END")


@pytest.mark.parametrize(("text", "found"), [
    ("-- migrate: no-transaction\n-- migrate: parameters\nSELECT 1;", {"no-transaction", "parameters"}),
    ("-- migrate: no-transaction, parameters\nSELECT 1;", {"no-transaction", "parameters"}),
    ("SELECT 1;\n-- migrate: no-transaction\n", set()),  # only the leading comment block counts
    ("-- banner\n\n-- migrate: parameters\nSELECT 1;", {"parameters"}),
])
def test_tsdb035_directives_come_from_the_leading_comments(text, found):
    assert file_directives(text) == found
