"""Concurrent writers share no row: changed keys are appended to rollup_log, and a gateway row another
transaction holds is skipped and carried to the writer's next write instead of waited for (issue 17).

Whatever the interleaving, nothing is lost, the rollups equal the reference computation and each
gateway ends with its latest message time, last sequence number and the exact count of missing ones.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest

from ingest import statements
from ingest.batch import ROLLUPS_DEFERRED, BatchStore
from ingest.inbox import Envelope
from ingest.payload import Reading, TelemetryMessage
from ingest.rollups import RollupWorker
from tests.rollup_check import Backend, assert_rollups_match, envelopes, in_batches, local, make_rows, provision

SAO_PAULO = "America/Sao_Paulo"


def gateway_row(database, serial: str) -> tuple:
    return database.query("SELECT last_seen_at, last_seq, seq_gaps FROM gateways WHERE serial = %s", (serial,))[0]


def test_iwr001_two_writers_on_one_gateway_at_once_lose_nothing_and_leave_exact_rollups(database):
    """Messages of one gateway split round robin between two writers (as a shared subscription does), both
    committing at once while a rollup worker runs passes."""
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    rows = make_rows(SAO_PAULO, seed=21)
    messages = envelopes(rows, slug, serial)
    halves = [messages[0::2], messages[1::2]]
    worker = RollupWorker(database.dsn, SAO_PAULO, keys_per_pass=7)
    start, done = threading.Barrier(2), threading.Event()
    stored, failures = [0, 0], []

    def write(index: int) -> None:
        store = BatchStore(SAO_PAULO, None, ROLLUPS_DEFERRED)  # no late window: either writer may run ahead
        try:
            with psycopg.connect(database.dsn) as conn:
                statements.prepare_session(conn)
                conn.execute("SET lock_timeout = '10s'")  # a writer waiting for the other fails, not hangs
                conn.commit()
                start.wait(10)
                for batch in in_batches(halves[index], 3):
                    stored[index] += store.write(conn, batch).stored
                    conn.commit()
                store.flush_gateway_carry(conn)
                conn.commit()
        except Exception as error:  # noqa: BLE001 -- reported by the main thread's assertion
            failures.append(error)

    def merge() -> None:
        while not done.is_set():
            worker.run_pass()

    merging = threading.Thread(target=merge)
    writers = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    merging.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    done.set()
    merging.join(60)
    assert failures == []
    assert sum(stored) == len(rows) == database.scalar("SELECT count(*) FROM readings")
    worker.drain()
    assert database.scalar("SELECT count(*) FROM rollup_log") == 0
    assert_rollups_match(database, rows, SAO_PAULO, serial)
    assert gateway_row(database, serial)[0] == max(env.received_at for env in messages)


def message(slug: str, serial: str, at, seq: int) -> Envelope:
    readings = (Reading("MED-001", "energy_kwh", 100.0 + seq, at),)
    return Envelope(f"tds/{slug}/{serial}/telemetry", b"", at,
                    message=TelemetryMessage(slug, serial, at, seq, readings, ()))


def test_iwr002_a_held_gateway_row_is_carried_not_waited_for_and_written_later(database):
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    at = local(SAO_PAULO, 2025, 6, 1, 10)
    store = BatchStore(SAO_PAULO, 7, ROLLUPS_DEFERRED)
    with psycopg.connect(database.dsn) as holder, psycopg.connect(database.dsn) as conn:
        statements.prepare_session(conn)
        conn.execute("SET lock_timeout = '5s'")
        conn.commit()
        holder.execute("SELECT 1 FROM gateways WHERE serial = %s FOR UPDATE", (serial,))  # e.g. the presence recorder
        result = store.write(conn, [message(slug, serial, at + timedelta(minutes=n), seq) for n, seq in
                                    enumerate((1, 2, 4))])
        conn.commit()  # did not wait for the holder (lock_timeout would have failed the write)
        assert result.stored == 3 and result.seq_gaps == 1
        assert gateway_row(database, serial) == (None, None, 0)  # not written yet: carried
        assert list(store.gateway_carry) and store.gateway_carry[next(iter(store.gateway_carry))].last_seq == 4
        holder.rollback()
        # The next batch writes the carried update merged with its own: seq 5 follows 4, no new gap.
        result = store.write(conn, [message(slug, serial, at + timedelta(minutes=5), 5)])
        conn.commit()
        assert result.seq_gaps == 0 and store.gateway_carry == {}
    assert gateway_row(database, serial) == (at + timedelta(minutes=5), 5, 1)


def test_iwr003_an_idle_writer_flushes_what_it_carried_and_a_failed_write_keeps_it(database):
    Backend("postgres", database).cut_in(SAO_PAULO)
    slug, serial = provision(database)
    at = local(SAO_PAULO, 2025, 6, 1, 10)
    store = BatchStore(SAO_PAULO, 7, ROLLUPS_DEFERRED)
    with psycopg.connect(database.dsn) as holder, psycopg.connect(database.dsn) as conn:
        statements.prepare_session(conn)
        holder.execute("SELECT 1 FROM gateways WHERE serial = %s FOR UPDATE", (serial,))
        store.write(conn, [message(slug, serial, at, 1), message(slug, serial, at + timedelta(minutes=1), 3)])
        conn.commit()
        carried = dict(store.gateway_carry)
        assert carried
        with psycopg.connect(database.dsn) as dead:  # a write failing before its gateway update ...
            dead.close()
            with pytest.raises(psycopg.OperationalError):
                store.write(dead, [message(slug, serial, at + timedelta(minutes=2), 4)])
        store.forget_cache()
        assert store.gateway_carry == carried  # ... leaves what the last committed write carried
        store.write(conn, [message(slug, serial, at + timedelta(minutes=2), 4)])
        conn.rollback()  # that batch did not commit: what it carried is not what stands
        store.forget_cache()
        assert store.gateway_carry == carried
        holder.rollback()
        store.flush_gateway_carry(conn)
        conn.commit()
        assert store.gateway_carry == {}
    assert gateway_row(database, serial) == (at + timedelta(minutes=1), 3, 1)
