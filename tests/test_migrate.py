"""tds_dash.migrate against a real PostgreSQL: apply-once, advisory lock, file naming, rollup time zone."""
from __future__ import annotations

import shutil
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg
import pytest

from ingest.simulator import backfill, build_fleet, provision_fleet
from tds_dash.migrate import MIGRATION_LOCK_KEY, apply_migrations, ensure_rollup_timezone, numbered_migrations
from tests.helpers import wait_until

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NEW_YORK = ZoneInfo("America/New_York")
MIGRATION_NAMES = [path.name for path in numbered_migrations()]


def test_mig001_migrations_apply_once_and_are_recorded(empty_database):
    assert MIGRATION_NAMES[:3] == ["001_core.sql", "002_rollups.sql", "003_timescale.sql"]

    assert apply_migrations(empty_database.dsn) == MIGRATION_NAMES
    assert apply_migrations(empty_database.dsn) == []

    recorded = [row[0] for row in empty_database.query("SELECT name FROM schema_migrations ORDER BY name")]
    assert recorded == MIGRATION_NAMES
    tables = {row[0] for row in empty_database.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"accounts", "gateways", "devices", "metrics", "readings", "rejected_messages", "rollup_settings",
            "consumption_hourly", "consumption_daily", "consumption_monthly", "schema_migrations"} <= tables
    functions = {row[0] for row in empty_database.query("SELECT proname FROM pg_proc WHERE proname LIKE 'tds_%'")}
    assert {"tds_refresh_rollups", "tds_roll_up", "tds_rebuild_rollups"} <= functions


def test_mig002_concurrent_apply_is_serialized_by_the_advisory_lock(empty_database):
    results: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            results[name] = apply_migrations(empty_database.dsn)
        except BaseException as error:  # reported below, in the test thread
            errors.append(error)

    # Hold the lock ourselves so that both threads are provably waiting on it at the same time.
    with psycopg.connect(empty_database.dsn, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        wait_until(lambda: empty_database.scalar(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
            (MIGRATION_LOCK_KEY,)) == 2, message="both migrators waiting on the advisory lock")
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    for thread in threads:
        thread.join(30)

    assert not errors, errors
    assert sorted([results["a"], results["b"]], key=len) == [[], MIGRATION_NAMES]
    rows = empty_database.query("SELECT name, count(*) FROM schema_migrations GROUP BY name ORDER BY name")
    assert rows == [(name, 1) for name in MIGRATION_NAMES]
    # 001 ran once: its seed rows are not doubled (metrics.name is UNIQUE, so a second run would have failed).
    assert empty_database.scalar("SELECT count(*) FROM metrics WHERE name = 'energy_kwh'") == 1


@pytest.mark.parametrize("bad_name", ["2_short.sql", "004-dash.sql", "005_Upper.sql", "notes.sql"])
def test_mig003_malformed_migration_file_name_raises(empty_database, tmp_path, bad_name):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE ok_table (id int);")
    (tmp_path / bad_name).write_text("CREATE TABLE bad_table (id int);")

    with pytest.raises(ValueError, match="NNN_name.sql"):
        apply_migrations(empty_database.dsn, sql_dir=tmp_path)

    # Nothing was applied: the names are checked before the first file runs.
    assert empty_database.scalar("SELECT to_regclass('ok_table') IS NULL")
    assert empty_database.scalar("SELECT count(*) FROM schema_migrations") == 0
    # and the lock was released: another run can go on once the file is renamed
    (tmp_path / bad_name).rename(tmp_path / "002_fixed.sql")
    assert apply_migrations(empty_database.dsn, sql_dir=tmp_path) == ["001_ok.sql", "002_fixed.sql"]


def test_mig004_failing_migration_is_rolled_back_and_retried_next_run(empty_database, tmp_path):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE ok_table (id int);")
    (tmp_path / "002_broken.sql").write_text("CREATE TABLE half_done (id int); SELECT no_such_column FROM ok_table;")

    with pytest.raises(psycopg.errors.UndefinedColumn):
        apply_migrations(empty_database.dsn, sql_dir=tmp_path)
    assert [r[0] for r in empty_database.query("SELECT name FROM schema_migrations")] == ["001_ok.sql"]
    assert empty_database.scalar("SELECT to_regclass('half_done') IS NULL")  # its transaction rolled back

    (tmp_path / "002_broken.sql").write_text("CREATE TABLE half_done (id int);")
    assert apply_migrations(empty_database.dsn, sql_dir=tmp_path) == ["002_broken.sql"]


def test_mig005_template_database_is_migrated_and_cut_in_sao_paulo(database):
    assert [r[0] for r in database.query("SELECT name FROM schema_migrations ORDER BY name")] == MIGRATION_NAMES
    assert database.scalar("SELECT timezone FROM rollup_settings") == "America/Sao_Paulo"
    assert ensure_rollup_timezone(database.dsn, "America/Sao_Paulo") is False
    assert apply_migrations(database.dsn) == []


def _daily(database) -> list[tuple]:
    return database.query(
        "SELECT d.code, m.name, c.bucket, c.consumption, c.count FROM consumption_daily c"
        " JOIN devices d ON d.id = c.device_id JOIN metrics m ON m.id = c.metric_id"
        " ORDER BY d.code, m.name, c.bucket")


def test_mig006_rollup_timezone_change_rebuilds_buckets(database):
    fleet = build_fleet(["tzco"], 1, 3, serial_prefix="TZ")  # an energy meter (energy_kwh + power_kw) and two more
    provision_fleet(database.engine(), fleet)
    # 2025-03-07 .. 03-12 spans New York's switch to daylight time (03-09): midnights move from 05:00Z to 04:00Z.
    start = datetime(2025, 3, 7, 12, tzinfo=timezone.utc)
    end = datetime(2025, 3, 12, 12, tzinfo=timezone.utc)
    stored = backfill(database.dsn, "America/Sao_Paulo", fleet, start, end, timedelta(minutes=30), progress=False)
    assert stored == database.scalar("SELECT count(*) FROM readings") > 0

    before = _daily(database)
    assert before
    assert {bucket.astimezone(SAO_PAULO).timetz().replace(tzinfo=None) for _, _, bucket, _, _ in before} == \
        {datetime.min.time()}
    assert {bucket.astimezone(timezone.utc).hour for _, _, bucket, _, _ in before} == {3}
    total_before = database.scalar("SELECT sum(consumption) FROM consumption_daily")

    assert ensure_rollup_timezone(database.dsn, "America/New_York") is True

    after = _daily(database)
    assert database.scalar("SELECT timezone FROM rollup_settings") == "America/New_York"
    buckets = {bucket for _, _, bucket, _, _ in after}
    assert all(bucket.astimezone(NEW_YORK).timetz().replace(tzinfo=None) == datetime.min.time() for bucket in buckets)
    assert {bucket.astimezone(timezone.utc).hour for bucket in buckets} == {4, 5}  # EST, then EDT
    assert min(buckets) == datetime(2025, 3, 7, 5, tzinfo=timezone.utc)
    assert max(buckets) == datetime(2025, 3, 12, 4, tzinfo=timezone.utc)
    # Same readings, other cut: totals and counts are preserved, per-day values are not.
    assert database.scalar("SELECT sum(consumption) FROM consumption_daily") == pytest.approx(total_before)
    assert sum(row[4] for row in after) == sum(row[4] for row in before) == stored
    # Each New York day holds exactly the readings of that local day.
    per_day = dict(((code, metric, bucket), count) for code, metric, bucket, _, count in after)
    raw = database.query(
        "SELECT d.code, m.name, date_trunc('day', r.ts, 'America/New_York'), count(*) FROM readings r"
        " JOIN devices d ON d.id = r.device_id JOIN metrics m ON m.id = r.metric_id GROUP BY 1, 2, 3")
    assert per_day == {(code, metric, bucket): count for code, metric, bucket, count in raw}
    # Hourly and monthly follow the same zone.
    assert database.scalar(
        "SELECT count(*) FROM consumption_monthly WHERE bucket <> date_trunc('month', bucket, 'America/New_York')") == 0
    assert database.scalar("SELECT count(*) FROM consumption_hourly") == database.scalar(
        "SELECT count(DISTINCT (device_id, metric_id, date_trunc('hour', ts))) FROM readings")

    assert ensure_rollup_timezone(database.dsn, "America/New_York") is False  # nothing changed: no rebuild


def test_mig010_keys_waiting_in_rollup_pending_move_to_rollup_log(empty_database, tmp_path):
    """An upgrade with keys still waiting under the old protocol (sql/033) loses none: 090 logs each from
    its earliest reading not yet merged, and the worker merges them."""
    from tds_dash.migrate import SQL_DIR

    before = tmp_path / "sql"
    shutil.copytree(SQL_DIR, before, ignore=shutil.ignore_patterns("090_*"))
    apply_migrations(empty_database.dsn, sql_dir=before)
    at = datetime(2025, 6, 1, 13, tzinfo=timezone.utc)
    empty_database.execute(
        "INSERT INTO rollup_pending (device_id, metric_id, from_ts, queued_at, version, next_from) VALUES"
        " (1, 1, %s, %s, 3, NULL), (2, 1, %s, %s, 1, %s)",
        (at, at, at, at, at - timedelta(hours=2)))
    assert apply_migrations(empty_database.dsn) == ["090_rollup_log.sql"]
    assert empty_database.query("SELECT device_id, metric_id, from_ts, queued_at FROM rollup_log ORDER BY 1") == [
        (1, 1, at, at), (2, 1, at - timedelta(hours=2), at)]
    assert empty_database.scalar("SELECT to_regclass('rollup_pending') IS NULL")
