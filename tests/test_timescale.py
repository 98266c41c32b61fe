"""The TimescaleDB path of the rollups, tested against a real TimescaleDB, with the same consumption
assertions run on plain PostgreSQL so both paths are proven equal.

TimescaleDB is the WASM build in tests/timescale/ (PostgreSQL 17.5 + TimescaleDB 2.23 with continuous
aggregates, compression and policies; no background workers, so policies run through CALL run_job),
or the server in $TEST_TIMESCALE_URL. Readings go in through ingest.batch.BatchStore.write on one
psycopg connection, committed per batch as the writer thread does: that IS the real ingest path below
MQTT (the subscriber only decodes messages and queues them for it). The MQTT part is left out here
because the WASM server serves one connection at a time; tests/test_ingest_integration.py covers it.

Backends: "postgres" = a fresh embedded database per test (rollup tables kept by the writer);
"timescale" = one database per session, emptied and its aggregates recreated by each test.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from ingest.inbox import Envelope
from tds_dash.migrate import apply_migrations, ensure_rollup_timezone
from tests.rollup_check import (
    UTC,
    Backend,
    assert_rollups_match,
    between,
    envelopes,
    fetch,
    floor_hour,
    in_batches,
    local,
    make_rows,
    provision,
    write,
)

SAO_PAULO = "America/Sao_Paulo"
NEW_YORK = "America/New_York"


@pytest.fixture(params=["postgres", "timescale"])
def backend(request) -> Backend:
    if request.param == "postgres":
        return Backend("postgres", request.getfixturevalue("database"))
    return Backend("timescale", request.getfixturevalue("timescale_database"))


# --------------------------------------------------------------------------- schema and policies

def test_tsdb001_migrations_make_hypertable_caggs_and_policies(timescale_database, database):
    names = {row[0] for row in timescale_database.query("SELECT name FROM schema_migrations")}
    assert {"003_timescale.sql", "timescale/020_rollup_views.sql", "timescale/021_readings_compression.sql"} <= names
    assert timescale_database.query(
        "SELECT column_name, time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'readings'"
    ) == [("ts", timedelta(days=1))]
    assert timescale_database.scalar(
        "SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_name = 'readings'")

    aggregates = timescale_database.query(
        "SELECT ca.user_view_name, ca.materialized_only, parent.user_view_name"
        " FROM _timescaledb_catalog.continuous_agg ca"
        " LEFT JOIN _timescaledb_catalog.continuous_agg parent ON parent.mat_hypertable_id = ca.parent_mat_hypertable_id"
        " ORDER BY ca.user_view_name")
    assert aggregates == [("consumption_daily", False, "consumption_hourly"),
                          ("consumption_hourly", False, None),
                          ("consumption_monthly", False, "consumption_daily"),
                          ("fleet_daily", False, "fleet_hourly"),  # sql/timescale/081 (issue 16)
                          ("fleet_hourly", False, None),
                          ("fleet_monthly", False, "fleet_daily")]

    # Same column names and types as plain PostgreSQL's tables, in the same order.
    columns_sql = ("SELECT table_name, column_name, data_type FROM information_schema.columns"
                   " WHERE table_name LIKE 'consumption\\_%' ORDER BY table_name, ordinal_position")
    assert timescale_database.query(columns_sql) == database.query(columns_sql)
    assert database.scalar("SELECT string_agg(DISTINCT relkind::text, '') FROM pg_class"
                           " WHERE relname IN ('consumption_hourly', 'consumption_daily', 'consumption_monthly')") == "r"

    jobs = timescale_database.query(
        "SELECT proc_name, hypertable_name, config ->> 'start_offset', config ->> 'end_offset',"
        " config ->> 'compress_after', config ->> 'drop_after' FROM timescaledb_information.jobs"
        " WHERE proc_name LIKE 'policy_%' AND proc_name <> 'policy_job_stat_history_retention' ORDER BY 1, 2")
    assert jobs == [("policy_compression", "readings", None, None, "7 days", None),
                    ("policy_refresh_continuous_aggregate", "consumption_daily", None, "01:00:00", None, None),
                    ("policy_refresh_continuous_aggregate", "consumption_hourly", None, "01:00:00", None, None),
                    ("policy_refresh_continuous_aggregate", "consumption_monthly", None, "01:00:00", None, None),
                    ("policy_refresh_continuous_aggregate", "fleet_daily", None, "01:00:00", None, None),
                    ("policy_refresh_continuous_aggregate", "fleet_hourly", None, "01:00:00", None, None),
                    ("policy_refresh_continuous_aggregate", "fleet_monthly", None, "01:00:00", None, None)]
    # Fleet rollups: same columns and types as plain PostgreSQL's tables (sql/080).
    fleet_sql = columns_sql.replace("consumption\\_%", "fleet\\_%")
    assert timescale_database.query(fleet_sql) == database.query(fleet_sql) != []
    # The writer's function is the Timescale one: consumption only, no rollup tables to merge into.
    assert "tds_merge_appended" not in timescale_database.scalar(
        "SELECT prosrc FROM pg_proc WHERE proname = 'tds_refresh_rollups'")
    assert apply_migrations(timescale_database.dsn) == []  # nothing left to apply, functions re-applied cleanly


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
