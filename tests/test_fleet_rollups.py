"""Fleet rollups (sql/080): per gateway and metric, the sum of the device rollups, kept by the same pass.

tests/rollup_check.assert_rollups_match checks them in every rollup test (worker, inline writer,
TimescaleDB); these add what only fleet rows have: several gateways and accounts, a purged device, a
zone change, and the reads that use them answering what the device rows answer.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ingest.rollups import RollupWorker
from tds_dash.db import create_db_engine
from tds_dash.queries import consumption, fleet_devices
from tds_dash.queries.consumption import Selection
from tds_dash.queries.scope import ALL_ACCOUNTS, Scope
from tests.rollup_check import (
    Backend,
    assert_fleet_matches,
    assert_rollups_match,
    envelopes,
    local,
    make_rows,
    provision,
)
from tests.test_rollup_worker import shuffled_blocks, write_deferred

SAO_PAULO = "America/Sao_Paulo"


def _fleet_rows(database, serial: str) -> int:
    return database.scalar("SELECT count(*) FROM fleet_daily f JOIN gateways g ON g.id = f.gateway_id"
                           " WHERE g.serial = %s", (serial,))


def test_flr001_late_and_shuffled_readings_of_two_gateways_sum_exactly(database):
    Backend("postgres", database).cut_in(SAO_PAULO)
    rng = random.Random(21)
    gateways = [provision(database) for _ in range(2)]
    everything = []
    for seed, (slug, serial) in enumerate(gateways, start=30):
        rows = make_rows(SAO_PAULO, seed=seed)
        everything.append((rows, serial))
        messages = shuffled_blocks(envelopes(rows, slug, serial), rng)
        worker = RollupWorker(database.dsn, SAO_PAULO, keys_per_pass=rng.choice([1, 3, 1000]))
        batches = [messages[i:i + 7] for i in range(0, len(messages), 7)]
        write_deferred(database.dsn, SAO_PAULO, batches, lambda i: worker.run_pass() if rng.random() < 0.5 else None)
        worker.drain()
    for rows, serial in everything:
        assert _fleet_rows(database, serial) > 0
        assert_rollups_match(database, rows, SAO_PAULO, serial)  # devices = reference, fleet = sum of devices


def test_flr002_purging_a_device_takes_it_out_of_its_gateways_totals(database):
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    rows = make_rows(SAO_PAULO, seed=4)
    # MED-002 alone reads in a late hour of its own: after the purge that bucket must be gone.
    only_second = local(SAO_PAULO, 2025, 11, 3, 20)
    extra = [r for r in rows if r.device == "MED-002" and r.ts == max(x.ts for x in rows if x.device == "MED-002")]
    rows += [type(r)(r.device, r.metric, only_second, r.value + 1) for r in extra]
    write_deferred(database.dsn, SAO_PAULO, [envelopes(rows, slug, serial)])
    RollupWorker(database.dsn, SAO_PAULO).drain()
    assert_fleet_matches(database, serial)
    assert database.scalar("SELECT count(*) FROM fleet_hourly WHERE bucket = %s", (only_second,)) > 0
    device_id, version = database.query("SELECT id, version FROM devices WHERE code = 'MED-002' AND gateway_id ="
                                        " (SELECT id FROM gateways WHERE serial = %s)", (serial,))[0]
    engine = create_db_engine(database.url)
    try:
        assert fleet_devices.purge_device(engine, ALL_ACCOUNTS, device_id, version).ok
    finally:
        engine.dispose()
    assert_fleet_matches(database, serial)
    assert database.scalar("SELECT count(*) FROM fleet_hourly WHERE bucket = %s", (only_second,)) == 0


def test_flr003_a_zone_change_recuts_the_fleet_rows(database):
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    rows = make_rows(SAO_PAULO, seed=9)
    write_deferred(database.dsn, SAO_PAULO, [envelopes(rows, slug, serial)])
    RollupWorker(database.dsn, SAO_PAULO).drain()
    Backend("postgres", database).cut_in("America/New_York")
    assert database.scalar("SELECT count(*) FROM fleet_daily WHERE bucket = %s",
                           (local("America/New_York", 2025, 3, 1),)) > 0
    assert_rollups_match(database, rows, "America/New_York", serial)


def test_flr004_reads_from_fleet_rows_answer_what_device_rows_answer(database):
    """The explorer's and overview's whole-gateway/account/fleet totals, through both sources."""
    Backend("postgres", database).cut_in(SAO_PAULO)
    zone = ZoneInfo(SAO_PAULO)
    first = provision(database)
    second = provision(database)
    for seed, (slug, serial) in zip((12, 13), (first, second)):
        write_deferred(database.dsn, SAO_PAULO, [envelopes(make_rows(SAO_PAULO, seed=seed), slug, serial)])
    RollupWorker(database.dsn, SAO_PAULO).drain()
    engine = create_db_engine(database.url)
    try:
        with engine.connect() as conn:
            account, gateway = conn.execute(sa.text("SELECT account_id, id FROM gateways WHERE serial = :s"),
                                            {"s": first[1]}).one()
            metric = consumption.find_metric(conn, "energy_kwh")["id"]
            devices = [row[0] for row in conn.execute(sa.text("SELECT id FROM devices WHERE gateway_id = :g"),
                                                       {"g": gateway})]
            start, end = local(SAO_PAULO, 2025, 2, 26, 7), local(SAO_PAULO, 2025, 11, 2, 15)
            for selection, by_devices in ((Selection(gateway_ids=(gateway,)), Selection(device_ids=tuple(devices))),
                                          (Selection(account_ids=(account,)), Selection(device_ids=tuple(devices)))):
                for scope in (ALL_ACCOUNTS, Scope(account_ids=(account,))):
                    fleet_total = consumption.total_between(conn, scope, selection, metric, start, end, zone)
                    device_total = consumption.total_between(conn, scope, by_devices, metric, start, end, zone)
                    assert fleet_total is not None and abs(fleet_total - device_total) < 1e-6
                    for granularity in ("hour", "day", "month"):
                        a = consumption.total_series(conn, scope, selection, metric, granularity, start, end, zone)
                        b = consumption.total_series(conn, scope, by_devices, metric, granularity, start, end, zone)
                        assert len(a) > 0 and a["bucket"].tolist() == b["bucket"].tolist()
                        assert (a["consumption"] - b["consumption"]).abs().max() < 1e-6
            # Another account's viewer sees nothing of this gateway through the fleet rows.
            other = Scope(account_ids=(account + 1000,))
            assert consumption.total_between(conn, other, Selection(gateway_ids=(gateway,)), metric, start, end,
                                             zone) is None
            assert consumption.total_series(conn, other, Selection(), metric, "day", start, end, zone).empty
    finally:
        engine.dispose()


def test_flr005_now_and_recent_hours_come_from_fleet_rows_too(database):
    """Live readings (hours just merged) show in the whole-fleet total at once, exactly."""
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    times = [now - timedelta(minutes=15 * i) for i in range(12, 0, -1)]
    rows = make_rows(SAO_PAULO, seed=2, times=times)
    write_deferred(database.dsn, SAO_PAULO, [envelopes(rows, slug, serial)])
    RollupWorker(database.dsn, SAO_PAULO).drain()
    assert_rollups_match(database, rows, SAO_PAULO, serial)
