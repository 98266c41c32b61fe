"""Rollups off the commit path: the writer records changed keys, the rollup worker merges them.

Whatever the interleaving of batches and passes, late and out-of-order readings included, the rollups
must equal the plain reference computation (tests/rollup_check.py), exactly as the inline merge does.
"""
from __future__ import annotations

import random
import threading
from datetime import timedelta

import psycopg
import pytest

from ingest import statements
from ingest.batch import ROLLUPS_DEFERRED, BatchStore
from ingest.rollups import RollupWorker
from tds_dash.settings import SettingsError, load_settings
from tests.helpers import publish, telemetry, topic, wait_until
from tests.rollup_check import (
    LATE_DATA_DAYS,
    Backend,
    assert_rollups_match,
    envelopes,
    in_batches,
    local,
    make_rows,
    provision,
)

SAO_PAULO, NEW_YORK = "America/Sao_Paulo", "America/New_York"


def write_deferred(dsn: str, zone: str, batches, between_batches=None) -> int:
    """Each batch through the writer's deferred store and a commit; `between_batches(i)` may run a pass."""
    store, stored = BatchStore(zone, LATE_DATA_DAYS, ROLLUPS_DEFERRED), 0
    with psycopg.connect(dsn) as conn:
        statements.prepare_session(conn)
        for index, batch in enumerate(batches):
            result = store.write(conn, batch)
            conn.commit()
            assert not result.rejected, [(r.reason, r.detail) for r in result.rejected[:3]]
            stored += result.stored
            if between_batches is not None:
                between_batches(index)
    return stored


def pending(database) -> int:
    return database.scalar("SELECT count(*) FROM rollup_log")


def shuffled_blocks(messages, rng: random.Random, block: int = 30) -> list:
    """Arrival order shuffled within blocks spanning at most two days (late and out of order, but inside
    the late-data window, so nothing is refused as too_late)."""
    order, part = [], []
    for message in messages:
        if part and (len(part) == block or message.received_at - part[0].received_at > timedelta(days=2)):
            rng.shuffle(part)
            order, part = order + part, []
        part.append(message)
    rng.shuffle(part)
    return order + part


@pytest.mark.parametrize("zone", [SAO_PAULO, NEW_YORK])
def test_rwk001_deferred_merge_equals_the_reference(database, zone):
    Backend("postgres", database).cut_in(zone)
    slug, serial = provision(database)
    rows = make_rows(zone, seed=17)
    write_deferred(database.dsn, zone, in_batches(envelopes(rows, slug, serial), 25))
    assert pending(database) > 0  # nothing merged before the worker ran: the commit path did no rollup
    RollupWorker(database.dsn, zone).drain()
    assert pending(database) == 0
    assert_rollups_match(database, rows, zone, serial)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rwk002_passes_between_shuffled_batches_stay_exact(database, seed):
    """A pass after some batches, keys touched again after their pass, late readings before merged ones."""
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    rows = make_rows(SAO_PAULO, seed=seed)
    rng = random.Random(seed)
    messages = shuffled_blocks(envelopes(rows, slug, serial), rng)
    worker = RollupWorker(database.dsn, SAO_PAULO, keys_per_pass=rng.choice([1, 2, 5, 1000]))
    batches = [messages[i:i + n] for i, n in _sizes(len(messages), rng)]
    write_deferred(database.dsn, SAO_PAULO, batches, lambda i: worker.run_pass() if rng.random() < 0.5 else None)
    worker.drain()
    assert_rollups_match(database, rows, SAO_PAULO, serial)


def _sizes(total: int, rng: random.Random):
    start = 0
    while start < total:
        size = rng.randint(1, 12)
        yield start, size
        start += size


def test_rwk003_two_workers_at_once_count_every_reading_once(database):
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    rows = make_rows(SAO_PAULO, seed=5)
    workers = [RollupWorker(database.dsn, SAO_PAULO, keys_per_pass=1) for _ in range(2)]
    done = threading.Event()

    def keep_merging(worker: RollupWorker) -> None:
        while not done.is_set():
            worker.run_pass()

    threads = [threading.Thread(target=keep_merging, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    try:
        write_deferred(database.dsn, SAO_PAULO, in_batches(envelopes(rows, slug, serial), 3))
    finally:
        done.set()
        for thread in threads:
            thread.join(30)
    workers[0].drain()
    assert sum(w.keys_merged for w in workers) > 0
    assert_rollups_match(database, rows, SAO_PAULO, serial)


def take_in_pass(conn: psycopg.Connection, limit: int = 100_000) -> list[statements.PendingKey]:
    """The first statements of RollupWorker.run_pass, inside the caller's transaction."""
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    return statements.take_logged_keys(conn, limit)


def test_rwk004_a_failed_pass_keeps_its_keys(database):
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    rows = make_rows(SAO_PAULO, seed=6)[:60]
    write_deferred(database.dsn, SAO_PAULO, in_batches(envelopes(rows, slug, serial), 10))
    waiting = pending(database)
    with psycopg.connect(database.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled), conn.transaction():
            keys = take_in_pass(conn)  # taken (deleted) ...
            assert keys
            statements.refresh_rollups(conn, keys, SAO_PAULO)
            conn.execute("SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)")  # ... and the pass dies before commit
    assert pending(database) == waiting > 0
    RollupWorker(database.dsn, SAO_PAULO).drain()
    assert_rollups_match(database, rows, SAO_PAULO, serial)


def test_rwk006_a_key_written_during_a_pass_stays_logged_and_a_writer_never_waits(database):
    """A writer commits keys while a pass holds the rows it took: nothing waits, the new rows stay for the
    next pass, and the pass merges none of their readings (one snapshot), so the rollups stay exact."""
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    rows = make_rows(SAO_PAULO, seed=8)
    messages = envelopes(rows, slug, serial)
    half = len(messages) // 2
    write_deferred(database.dsn, SAO_PAULO, in_batches(messages[:half], 20))
    with psycopg.connect(database.dsn, autocommit=True) as merging:
        with merging.transaction():
            keys = take_in_pass(merging)
            statements.refresh_rollups(merging, keys, SAO_PAULO)
            # The pass holds the rows it deleted: this writer's commits (the same keys) go through at once.
            written = write_deferred(database.dsn, SAO_PAULO, in_batches(messages[half:], 20))
    assert written > 0 and pending(database) > 0  # the keys written again are still waiting
    later = database.query("SELECT device_id, metric_id, min(from_ts) FROM rollup_log GROUP BY 1, 2")
    newest_taken = max(row.ts for row in rows if row.ts < messages[half].received_at)
    assert all(from_ts > newest_taken for _, _, from_ts in later)  # from the readings written after the take
    RollupWorker(database.dsn, SAO_PAULO).drain()
    assert_rollups_match(database, rows, SAO_PAULO, serial)


def test_rwk007_a_pass_folds_each_key_once_however_many_batches_logged_it(database):
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    rows = make_rows(SAO_PAULO, seed=9)
    messages = envelopes(rows, slug, serial)
    write_deferred(database.dsn, SAO_PAULO, in_batches(messages, 5))
    logged = pending(database)
    distinct = database.scalar("SELECT count(*) FROM (SELECT DISTINCT device_id, metric_id FROM rollup_log) k")
    assert logged > distinct  # one row per key and batch
    worker = RollupWorker(database.dsn, SAO_PAULO)
    assert worker.run_pass() == distinct  # folded: once per key
    assert pending(database) == 0 and worker.passes == 1
    assert_rollups_match(database, rows, SAO_PAULO, serial)


def test_rwk005_live_ingest_merges_after_commit_and_a_clean_stop_leaves_nothing(database, mosquitto, ingest):
    """Through Mosquitto and the real ingest: readings acknowledged, rollups current soon after, lag measured."""
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    handle = ingest(TDS_ROLLUP_PASS_MS="200")
    assert handle.rollups is not None and handle.writer.batch_store.rollups == ROLLUPS_DEFERRED
    assert handle.rollups.pass_interval == 0.2  # TDS_ROLLUP_PASS_MS reaches the worker
    start = local(SAO_PAULO, 2025, 6, 1, 10)
    messages = [(topic(slug, serial), telemetry([{"device": "MED-001", "metric": "energy_kwh", "value": 100.0 + i}],
                                                at=start + timedelta(minutes=10 * i), seq=i + 1)) for i in range(30)]
    publish(mosquitto, messages)
    wait_until(lambda: database.scalar(
        "SELECT sum(consumption) FROM consumption_daily c JOIN devices d ON d.id = c.device_id"
        " JOIN gateways g ON g.id = d.gateway_id WHERE g.serial = %s", (serial,)) == pytest.approx(29.0))
    assert handle.rollups.keys_merged >= 1 and handle.rollups.max_lag_s < 10
    handle.stop()
    assert pending(database) == 0


@pytest.mark.parametrize("value", ["0", "49", "10001", "fast", "-5"])
def test_rwk008_a_bad_pass_interval_is_refused_at_start_with_its_name(value):
    with pytest.raises(SettingsError, match="TDS_ROLLUP_PASS_MS"):
        load_settings({"DATABASE_URL": "postgresql+psycopg://x@127.0.0.1/x", "TDS_ROLLUP_PASS_MS": value})
