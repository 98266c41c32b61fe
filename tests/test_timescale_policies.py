"""TimescaleDB only: compression and retention policies (run with CALL run_job, as the WASM build has no
background workers) keep the rollups' totals; bad zones and policy settings are refused.
"""
from __future__ import annotations

import random

import psycopg
import pytest

from tds_dash.migrate import ensure_timescale_policies
from tests.helpers import Database
from tests.rollup_check import (
    LATE_DATA_DAYS,
    Backend,
    assert_rollups_match,
    between,
    envelopes,
    in_batches,
    make_rows,
    provision,
    run_jobs,
    write,
)

SAO_PAULO = "America/Sao_Paulo"


def _readings_on(db: Database, serial: str) -> int:
    return db.scalar("SELECT count(*) FROM readings r JOIN devices d ON d.id = r.device_id"
                     " JOIN gateways g ON g.id = d.gateway_id WHERE g.serial = %s", (serial,))


def test_tsdb020_compression_policy_compresses_old_chunks_and_keeps_totals(timescale_database):
    backend = Backend("timescale", timescale_database)
    backend.cut_in(SAO_PAULO)
    slug, serial = provision(timescale_database)
    rows = make_rows(SAO_PAULO, seed=20)
    write(timescale_database, SAO_PAULO, in_batches(envelopes(rows, slug, serial), 40))
    backend.refresh()

    assert run_jobs(timescale_database, "policy_compression", "readings") == 1
    chunks = timescale_database.query(
        "SELECT is_compressed, count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'readings'"
        " GROUP BY 1")
    assert dict(chunks).get(True, 0) > 0 and dict(chunks).get(False, 0) == 0  # all of 2025 is past 7 days
    assert_rollups_match(timescale_database, rows, SAO_PAULO, serial)
    assert _readings_on(timescale_database, serial) == len(rows)

    # Compression follows wall-clock age, the late-data window a device's newest reading: a gateway
    # back from weeks offline still writes into (and updates consumption in) compressed chunks.
    late = between(rows, random.Random(20), newest=max(row.ts for row in rows), count=4)
    write(timescale_database, SAO_PAULO, [envelopes(late, slug, serial)])
    rows += late
    backend.refresh()
    assert_rollups_match(timescale_database, rows, SAO_PAULO, serial)

    # Rebuilding the aggregates reads the compressed chunks back.
    with timescale_database.connect() as conn:
        conn.execute("SELECT tds_rebuild_rollups(%s)", (SAO_PAULO,))
    assert_rollups_match(timescale_database, rows, SAO_PAULO, serial)  # real-time over compressed raw data
    backend.refresh()
    assert_rollups_match(timescale_database, rows, SAO_PAULO, serial)


def test_tsdb021_retention_policy_drops_raw_chunks_and_rollups_keep_totals(timescale_database):
    backend = Backend("timescale", timescale_database)
    backend.cut_in(SAO_PAULO)
    slug, serial = provision(timescale_database)
    rows = make_rows(SAO_PAULO, seed=21)
    write(timescale_database, SAO_PAULO, in_batches(envelopes(rows, slug, serial), 40))
    backend.refresh()
    try:
        assert ensure_timescale_policies(timescale_database.dsn, LATE_DATA_DAYS, 30) is True
        assert _hourly_refresh_start(timescale_database) == "30 days"  # never refreshes what retention drops
        assert run_jobs(timescale_database, "policy_retention", "readings") == 1
        assert _readings_on(timescale_database, serial) == 0  # 2025 is older than 30 days
        assert_rollups_match(timescale_database, rows, SAO_PAULO, serial)
        backend.refresh()  # the dropped range is logged as invalid; the refresh must not reach it
        assert_rollups_match(timescale_database, rows, SAO_PAULO, serial)
    finally:
        ensure_timescale_policies(timescale_database.dsn, LATE_DATA_DAYS)
    assert run_jobs(timescale_database, "policy_retention", "readings") == 0  # unset again: no retention
    assert _hourly_refresh_start(timescale_database) == "30 days"  # ...but the dropped range stays out of reach
    backend.refresh()
    assert_rollups_match(timescale_database, rows, SAO_PAULO, serial)


def _hourly_refresh_start(db: Database) -> str | None:
    return db.scalar("SELECT config ->> 'start_offset' FROM timescaledb_information.jobs"
                     " WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = 'consumption_hourly'")


def test_tsdb022_bad_zone_or_policy_is_refused_and_changes_nothing(timescale_database):
    with timescale_database.connect() as conn:
        conn.execute("SELECT tds_rebuild_rollups(%s)", (SAO_PAULO,))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="unknown time zone: Mars/Olympus"):
            conn.execute("SELECT tds_rebuild_rollups(%s)", ("Mars/Olympus",))
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="must be longer than the late-data window"):
            conn.execute("SELECT tds_timescale_policies(7, 7)")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="at least 1 day"):
            conn.execute("SELECT tds_timescale_policies(0, NULL)")
    assert timescale_database.scalar("SELECT timezone FROM rollup_settings") == SAO_PAULO
    # 3 device rollups + 3 fleet rollups (sql/timescale/081, issue 16), none recreated in another zone.
    assert timescale_database.scalar("SELECT count(*) FROM timescaledb_information.continuous_aggregates") == 6
    assert "Sao_Paulo" in timescale_database.scalar(
        "SELECT view_definition FROM timescaledb_information.continuous_aggregates WHERE view_name = 'fleet_daily'")
    assert "Sao_Paulo" in timescale_database.scalar(
        "SELECT view_definition FROM timescaledb_information.continuous_aggregates WHERE view_name = 'consumption_daily'")
