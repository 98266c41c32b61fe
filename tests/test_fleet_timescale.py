"""Purging a device on TimescaleDB (the WASM build or $TEST_TIMESCALE_URL): readings go in one transaction,
and the continuous aggregates that had materialized them are refreshed so no rollup still counts them."""
from __future__ import annotations

from datetime import datetime, timedelta

from tds_dash.db import create_db_engine
from tds_dash.queries import fleet_devices
from tds_dash.queries.scope import ALL_ACCOUNTS
from tests.rollup_check import UTC, Row, envelopes, in_batches, provision, write

ZONE = "America/Sao_Paulo"


def test_fts001_purge_on_timescale_clears_materialized_rollups(timescale_database):
    db = timescale_database
    slug, serial = provision(db)
    start = datetime(2025, 5, 30, tzinfo=UTC)  # across a month end: hourly, daily and monthly buckets
    rows = [Row(code, "energy_kwh", start + timedelta(hours=h), 100.0 + h) for code in ("MED-001", "MED-002")
            for h in range(72)]
    write(db, ZONE, in_batches(envelopes(rows, slug, serial), 24))
    target, other = (db.scalar("SELECT d.id FROM devices d JOIN gateways g ON g.id = d.gateway_id"
                               " WHERE g.serial = %s AND d.code = %s", (serial, code)) for code in ("MED-001", "MED-002"))
    for view in fleet_devices.ROLLUP_LEVELS:  # materialize, so only a refresh can take the purged rows out
        db.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
    assert db.scalar("SELECT count(*) FROM consumption_monthly WHERE device_id = %s", (target,)) == 2

    engine = create_db_engine(db.url, pool_size=1)
    try:
        result = fleet_devices.purge_device(engine, ALL_ACCOUNTS, target, 1)
    finally:
        engine.dispose()
    assert result.ok and result.readings == 72
    assert db.scalar("SELECT count(*) FROM readings WHERE device_id = %s", (target,)) == 0
    for view in fleet_devices.ROLLUP_LEVELS:
        assert db.scalar(f"SELECT count(*) FROM {view} WHERE device_id = %s", (target,)) == 0, view
        assert db.scalar(f"SELECT count(*) FROM {view} WHERE device_id = %s", (other,)) > 0, view
    assert db.scalar("SELECT sum(consumption) FROM consumption_monthly WHERE device_id = %s", (other,)) == 71.0


def test_fts002_meter_kind_change_on_timescale_reaches_materialized_rollups(timescale_database):
    db = timescale_database
    slug, serial = provision(db)
    start = datetime(2025, 3, 30, tzinfo=UTC)
    rows = [Row("MED-001", "energy_kwh", start + timedelta(hours=h), float(h % 5)) for h in range(72)]
    write(db, ZONE, in_batches(envelopes(rows, slug, serial), 24))
    device = db.scalar("SELECT d.id FROM devices d JOIN gateways g ON g.id = d.gateway_id WHERE g.serial = %s"
                       " AND d.code = 'MED-001'", (serial,))
    metric = db.scalar("SELECT id FROM metrics WHERE name = 'energy_kwh'")
    for view in fleet_devices.ROLLUP_LEVELS:
        db.execute(f"CALL refresh_continuous_aggregate('{view}', NULL, NULL)")
    engine = create_db_engine(db.url, pool_size=1)
    try:
        with engine.begin() as conn:  # what the device form does: save, then refresh after the commit
            result = fleet_devices.save_device(
                conn, ALL_ACCOUNTS, {"code": "MED-001", "name": "M", "kind": "meter", "active": True}, device, 1,
                [{"metric_id": metric, "meter_kind": "delta", "unit": "kWh", "rollover_value": None,
                  "usual_interval_s": None}], ZONE)
        assert result.ok and result.recomputed_since == start
        fleet_devices.refresh_continuous_aggregates(engine, fleet_devices.Span(result.recomputed_since,
                                                                               datetime.now(UTC)))
    finally:
        engine.dispose()
    # As a delta meter every value is its own consumption: the materialized months now say so.
    assert db.scalar("SELECT sum(consumption) FROM consumption_monthly WHERE device_id = %s", (device,)) == \
        sum(row.value for row in rows)
